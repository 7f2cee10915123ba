"""pull-model: download a model repo into a local dir that `model.base` can point at, and record
where it came from (hub_source.json) so a pushed adapter's card can name its base model."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tracelora.common.io import write_json
from tracelora.ops.hub.client import api, check_repo_id, with_retry
from tracelora.ops.hub.importer import slug

MODEL_FILES_HINT = ("config.json",)


@dataclass
class PullResult:
    repo_id: str
    revision: str
    commit: str
    out: Path
    files: int
    warnings: list[str]


def default_out(repo_id: str) -> Path:
    return Path("models/hub") / slug(repo_id)


def pull_model(repo_id: str, out: Path | None = None, revision: str | None = None,
               include: list[str] | None = None, on_retry: Callable[[str], None] | None = None) -> PullResult:
    from huggingface_hub import snapshot_download

    check_repo_id(repo_id)
    out = out or default_out(repo_id)
    client = api()
    info = with_retry(client.model_info, repo_id, revision=revision, on_retry=on_retry)
    commit = str(info.sha or "")
    with_retry(snapshot_download, repo_id, revision=commit or revision, local_dir=out, allow_patterns=include or None,
               endpoint=client.endpoint, token=client.token, on_retry=on_retry)
    files = sum(1 for p in out.rglob("*") if p.is_file() and ".cache" not in p.relative_to(out).parts)
    warnings = [f"{out}: no {name}; `model.base` needs a transformers model dir" for name in MODEL_FILES_HINT
                if not (out / name).is_file()]
    write_json(out / "hub_source.json", {"repo_id": repo_id, "revision": revision or "main", "commit": commit})
    return PullResult(repo_id, revision or "main", commit, out, files, warnings)
