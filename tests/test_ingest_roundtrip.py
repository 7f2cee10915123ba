"""Round trip: everything ingest writes loads with `datasets.load_dataset("json")`, renders through
the SmolLM2 chat template, and flows through the build stage."""
from __future__ import annotations

import json
from pathlib import Path

import ingest_fixtures as F
import pytest
from conftest import ROOT

from tracelora.stages import build
from tracelora.ops.ingest.cli import main
from tracelora.formats.chat_format import render


def ingest_everything(tmp: Path) -> Path:
    home = F.openclaw_home(tmp / "src/.openclaw")
    F.openclaw_db(home / "agents/main/agent/openclaw-agent.sqlite")
    F.opencode_storage(tmp / "src/opencode")
    F.claude_session(tmp / "src/claude/-p/cc.jsonl")
    F.codex_rollout(tmp / "src/codex/rollout-x.jsonl")
    F.jsonl(tmp / "src/chat/rows.jsonl", F.chat_rows())
    out = tmp / "raw"
    for source, path in (("openclaw", home), ("opencode", tmp / "src/opencode"), ("claude-code", tmp / "src/claude"),
                         ("codex", tmp / "src/codex"), ("chat", tmp / "src/chat")):
        assert main(["--from", source, "--path", str(path), "--out", str(out)]) == 0
    return out


@pytest.fixture
def tokenizer(request: pytest.FixtureRequest):
    from transformers import AutoTokenizer

    base = ROOT / "models/base"
    if (base / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(base)
    return AutoTokenizer.from_pretrained(request.getfixturevalue("smol_tokenizer_dir"))


def test_records_load_with_datasets_and_render(tmp_path: Path, tokenizer) -> None:
    import datasets

    out = ingest_everything(tmp_path)
    files = sorted(str(p) for p in out.rglob("*.jsonl"))
    assert len(files) >= 8
    rows = [json.loads(line) for f in files for line in Path(f).read_text().splitlines()]
    for f in files:  # each file on its own, as build and train read them
        ds = datasets.load_dataset("json", data_files=f, split="train", cache_dir=str(tmp_path / "hf_cache"))
        assert len(ds) == len(Path(f).read_text().splitlines())
    for rec in rows:
        text = render(tokenizer, rec["messages"])
        assert "<|im_start|>assistant" in text and rec["messages"][-1]["content"][:20] in text
        for m in rec["messages"]:
            for call in m.get("tool_calls", []):
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
        assert set(rec["metadata"]) >= {"source", "session_id", "timestamp", "model", "task_category", "outcome", "origin"}
        assert rec["metadata"]["outcome"] in ("success", "failure", "aborted", "unknown")


def test_ingested_records_flow_through_build(tmp_path: Path) -> None:
    raw = ingest_everything(tmp_path)
    (tmp_path / "params.yaml").write_text("data: {min_examples: 1, synthetic_ratio: 0, adversarial_ratio: 0, "
                                          "keep_outcomes: [success, failure, unknown]}\n")
    out = tmp_path / "dataset"
    assert build.main(["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", str(out),
                       "--metrics", str(tmp_path / "metrics.json"), "--params", str(tmp_path / "params.yaml")]) == 0
    manifest = json.loads((out / "dataset_manifest.json").read_text())
    c = manifest["counts"]
    written = sum(len(p.read_text().splitlines()) for p in raw.rglob("*.jsonl"))
    assert c["read"] == written and c["quarantined"] == 0 and manifest["accounting_ok"] is True
    assert c["kept"] >= 8 and manifest["gates"]["redaction_ok"] is True
    assert {"openclaw", "opencode", "claude-code", "codex", "chat"} <= set(c["by_source"])
    assert not any(f["path"].endswith("_ingest_report.json") for f in manifest["inputs"]["files"])


def test_from_hf_points_to_import_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hugging Face datasets have one way in (`tracelora hub import-dataset`, tests/test_build_hf.py);
    the old adapter name fails in one line that says where to go."""
    assert main(["--from", "hf", "--path", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --from hf was removed:") and "tracelora hub import-dataset" in err[0]
    assert not (tmp_path / "out").exists()
