"""Hugging Face datasets as trace sources, offline: a local `save_to_disk` directory, a directory of
data files (parquet/json/jsonl/csv/arrow, read by `datasets` in streaming mode, so nothing is cached),
or a dataset already in the local Hub cache (resolved with `local_files_only=True`).

A spec is `<dir-or-repo-id>[:<split>]`, e.g. `data/hf/my_chats`, `org/agent-traces:train`. Rows go
through the chat adapter (stages.lib.records.normalize). `iter_hf_rows` is what build uses for
`data.hf_datasets`."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

from stages.ingest.chat import rows_to_records
from stages.ingest.model import IngestError, Ledger, Session

NAME = "hf"
DATA_SUFFIXES = (".parquet", ".arrow", ".json", ".jsonl", ".csv")
_SPLIT = re.compile(r"^(?P<target>.+?):(?P<split>[A-Za-z0-9_.-]+)$")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """'org/name:train' -> ('org/name', 'train'); a colon that is part of an existing path stays."""
    m = _SPLIT.match(spec)
    if m and not Path(spec).exists():
        return m["target"], m["split"]
    return spec, None


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_dict.json").is_file() or
                              ((path / "state.json").is_file() and (path / "dataset_info.json").is_file()))


def _has_data_files(path: Path) -> bool:
    return path.is_dir() and any(p.suffix in DATA_SUFFIXES for p in path.rglob("*") if p.is_file()
                                 and ".cache" not in p.parts)


def resolve(target: str, cache_dir: str | Path | None = None) -> Path:
    """A local directory for the spec target: the path itself, or its snapshot in the Hub cache."""
    local = Path(target).expanduser()
    if local.exists():
        return local
    if re.fullmatch(r"[\w.-]+/[\w.-]+", target):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            return Path(snapshot_download(target, repo_type="dataset", local_files_only=True, cache_dir=cache_dir))
        except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
            raise IngestError(f"hf:{target}: not a local directory and not in the Hub cache "
                              "(download it once with `hf download --repo-type dataset` or `datasets`)") from None
    raise IngestError(f"{target}: no such directory")


def iter_hf_rows(spec: str, cache_dir: str | Path | None = None) -> Iterator[tuple[str, Any]]:
    """(origin, row) for every row of the spec's split(s), origin `hf:<target>:<split>:<index>`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    target, split = parse_spec(spec)
    path = resolve(target, cache_dir)
    try:
        if is_saved_dataset(path):
            loaded = datasets.load_from_disk(str(path))
            splits = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
        elif _has_data_files(path):
            loaded = datasets.load_dataset(str(path), streaming=True)
            splits = dict(loaded)
        else:
            raise IngestError(f"{path}: no saved dataset and no data files ({', '.join(DATA_SUFFIXES)})")
    except IngestError:
        raise
    except Exception as exc:  # datasets raises many types; the message names the file
        raise IngestError(f"{path}: cannot read as a Hugging Face dataset ({type(exc).__name__}: {str(exc)[:200]})") from None
    if split is not None:
        if split not in splits:
            raise IngestError(f"{spec}: no split {split!r} (have {', '.join(sorted(splits))})")
        splits = {split: splits[split]}
    for name in sorted(splits):
        for i, row in enumerate(splits[name]):
            yield f"hf:{target}:{name}:{i}", row


def default_roots() -> list[Path]:
    return []  # pass --path DIR (or a repo id in the Hub cache)


def detect(path: Path) -> bool:
    return is_saved_dataset(path) or (path.is_dir() and any(p.suffix in (".parquet", ".arrow") for p in path.rglob("*")))


def discover(root: Path) -> list[Path]:
    return [root] if root.exists() and detect(root) else []


def iter_sessions(unit: Path | str, ledger: Ledger, display: str | None = None) -> Iterator[Session]:
    spec = str(unit)
    rows = []
    for origin, row in iter_hf_rows(spec):
        ledger.row(origin)
        rows.append((origin, row))
    target, split = parse_spec(spec)
    name = Path(target).name if Path(target).exists() else target.replace("/", "__")
    yield Session(f"hf:{target}", name + (f"-{split}" if split else ""), display or spec, name,
                  {"rows": rows}, origins=[o for o, _ in rows])


to_records = rows_to_records
