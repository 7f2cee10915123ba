"""push-dataset / push-adapter: upload the pipeline's outputs with a generated card, one commit each.

Both refuse unless the safety checks hold: the dataset needs `redaction_ok` (post-redaction scan
clean); the adapter also needs the gate's `promote`. `--force` overrides and the card says which
checks were overridden. Missing or malformed metrics count as failed checks (fail closed).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tracelora.common.io import read_json_or_report
from tracelora.model.card import adapter_card
from tracelora.model.source import EMBEDDED_REPO
from tracelora.ops.hub.cards import dataset_card
from tracelora.ops.hub.client import HubError, api, check_repo_id, require_token, with_retry

ADAPTER_SKIP = {"README.md"}  # replaced by our card


@dataclass
class PushResult:
    repo_id: str
    url: str
    files: list[str]
    forced: list[str]


def read_object(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """A JSON object, or None with one line in `problems` saying why (missing, not valid JSON, not an
    object, unreadable): every metrics file a push checks is read fail-closed this way."""
    try:
        data = read_json_or_report(path, problems)
    except OSError as exc:  # a directory, no permission: unreadable, which fails closed like missing
        problems.append(f"{path}: unreadable ({type(exc).__name__})")
        return None
    if data is not None and not isinstance(data, dict):
        problems.append(f"{path}: not a JSON object")
        return None
    return data


def dataset_checks(manifest: dict[str, Any] | None) -> list[str]:
    """Failed checks for a dataset push beyond an unreadable manifest, as short phrases ([] = all pass)."""
    if manifest is not None and (manifest.get("gates") or {}).get("redaction_ok") is not True:
        return ["redaction_ok is not true (the post-redaction scan found secret-like strings)"]
    return []


def adapter_checks(gate: dict[str, Any] | None, dataset: dict[str, Any] | None) -> list[str]:
    """Failed checks for an adapter push beyond unreadable files: the gate promoted, redaction_ok."""
    failed = []
    if gate is not None and gate.get("promote") is not True:
        reasons = [c.get("reason", c.get("name", "")) for c in gate.get("checks", []) if not c.get("passed")]
        failed.append("the gate did not promote" + (f" ({'; '.join(reasons)})" if reasons else ""))
    if dataset is not None and dataset.get("redaction_ok") is not True:
        failed.append("redaction_ok is not true")
    return failed


def _guard(failed: list[str], force: bool, what: str) -> list[str]:
    if failed and not force:
        raise HubError(f"refusing to push the {what}: {'; '.join(failed)} (use --force to override; it is recorded in the card)")
    return failed if force else []


def _commit(repo_id: str, repo_type: str, files: dict[str, Path | bytes], private: bool, message: str,
            on_retry: Callable[[str], None] | None) -> str:
    from huggingface_hub import CommitOperationAdd

    require_token()
    client = api()
    with_retry(client.create_repo, repo_id, repo_type=repo_type, private=private, exist_ok=True, on_retry=on_retry)
    ops = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(src) if isinstance(src, Path) else src)
           for name, src in sorted(files.items())]
    info = with_retry(client.create_commit, repo_id, operations=ops, repo_type=repo_type,
                      commit_message=message, on_retry=on_retry)
    return str(getattr(info, "commit_url", "") or "")


def push_dataset(repo_id: str, dataset_dir: Path, private: bool = False, force: bool = False,
                 on_retry: Callable[[str], None] | None = None) -> PushResult:
    check_repo_id(repo_id)
    manifest_path = dataset_dir / "dataset_manifest.json"
    unreadable: list[str] = []
    manifest = read_object(manifest_path, unreadable)
    forced = _guard(unreadable + dataset_checks(manifest), force, "dataset")
    files: dict[str, Path | bytes] = {}
    for name in ("train.jsonl", "val.jsonl"):
        if not (dataset_dir / name).is_file():
            raise HubError(f"{dataset_dir / name}: not found; run `dvc repro build` first")
        files[name] = dataset_dir / name
    if manifest is not None:
        files["dataset_manifest.json"] = manifest_path
    files["README.md"] = dataset_card(repo_id, manifest or {}, forced).encode()
    url = _commit(repo_id, "dataset", files, private, "Upload dataset (agent-trace-lora build)", on_retry)
    return PushResult(repo_id, url, sorted(files), forced)


def base_model_id(base: str) -> str | None:
    """The Hub id of the base model for the card: the embedded one, or what `pull-model` recorded."""
    if base == "embedded":
        return EMBEDDED_REPO
    source = read_object(Path(base) / "hub_source.json", [])  # absent: not from pull-model, no id to name
    return str(source["repo_id"]) if source and source.get("repo_id") else None


def push_adapter(repo_id: str, adapter_dir: Path, metrics_dir: Path, base: str = "embedded", private: bool = False,
                 force: bool = False, on_retry: Callable[[str], None] | None = None) -> PushResult:
    check_repo_id(repo_id)
    gate_path, dataset_path = metrics_dir / "gate_decision.json", metrics_dir / "dataset.json"
    unreadable: list[str] = []
    gate, dataset = read_object(gate_path, unreadable), read_object(dataset_path, unreadable)
    forced = _guard(unreadable + adapter_checks(gate, dataset), force, "adapter")
    if not (adapter_dir / "adapter_config.json").is_file():
        raise HubError(f"{adapter_dir}: no adapter_config.json; run `dvc repro train` first")
    files: dict[str, Path | bytes] = {p.name: p for p in sorted(adapter_dir.iterdir())
                                      if p.is_file() and p.name not in ADAPTER_SKIP and not p.name.startswith(".")}
    missing: list[str] = []  # card inputs that are not checks: named in the card, not refused
    evals, train = read_object(metrics_dir / "eval_results.json", missing), read_object(metrics_dir / "train.json", missing)
    for name, data in (("eval_results.json", evals), ("gate_decision.json", gate), ("train.json", train)):
        if data is not None:
            files[f"metrics/{name}"] = metrics_dir / name
    card = adapter_card(repo_id, base_model_id(base), evals, gate, train, dataset, forced, missing)
    files["README.md"] = card.encode()
    url = _commit(repo_id, "model", files, private, "Upload LoRA adapter (agent-trace-lora)", on_retry)
    return PushResult(repo_id, url, sorted(files), forced)
