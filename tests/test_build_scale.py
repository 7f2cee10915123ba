"""Build at scale: the per-chunk cache (incremental == full rebuild, byte for byte), workers, chunked
files, near-dedup (earliest kept, train/val straddles counted), the golden set, quality filter reason
codes, and secrets kept out of quarantine files."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, write_jsonl

from tracelora.stages import build
from tracelora.dataset import build as build_driver
from tracelora.dataset import cache as build_cache
from tracelora.cleaning.near_dedup import LSHConfig, first_near_copies, signature_reference, signatures

OUTS = ("train.jsonl", "val.jsonl", "quarantine.jsonl", "dataset_manifest.json")
WORDS = ("alpha beta gamma delta parser router cache token schema widget module handler queue retry socket buffer "
         "config deploy lint format index vector branch commit merge rebase build wheel").split()


def session(i: int, rng: random.Random, n_words: int = 60) -> dict:
    body = " ".join(rng.choice(WORDS) for _ in range(n_words))
    return {"messages": [
        {"role": "user", "content": f"Task {i}: {body}"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": json.dumps({"command": f"pytest -k t{i}"})}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "bash", "content": f"{i} passed"},
        {"role": "assistant", "content": f"Done with task {i}: {body[:80]}"},
    ], "source": "opencode", "task_category": "bugfix", "outcome": "success"}


def build_into(tmp: Path, raw: Path, out_name: str, extra: str = "") -> tuple[dict, Path]:
    params = tmp / "params.yaml"
    data = {"min_examples": 1, "synthetic_ratio": 0.2, "adversarial_ratio": 0.1, **(yaml.safe_load(extra) or {})}
    params.write_text(yaml.safe_dump({"data": data}))  # `extra` overrides (a key given twice is refused)
    out = tmp / out_name
    rc = build.main(["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", str(out),
                     "--metrics", str(tmp / f"{out_name}.metrics.json"), "--params", str(params)])
    assert rc == 0
    return json.loads((out / "dataset_manifest.json").read_text()), out


def same_outputs(a: Path, b: Path) -> None:
    for name in OUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_incremental_build_equals_full_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_driver, "GEN_BLOCK", 4)  # generated examples cached in many small blocks
    rng = random.Random(0)
    raw = tmp_path / "raw"
    write_jsonl(raw / "day1.jsonl", [session(i, rng) for i in range(60)])
    write_jsonl(raw / "day2.jsonl", [session(i, rng) for i in range(60, 120)])
    def raw_entries() -> dict[str, float]:
        root = tmp_path / ".cache/build/entries"
        return {p.name: p.stat().st_mtime for p in root.iterdir() if json.loads((p / "meta.json").read_text())["kind"] == "raw"}

    build_into(tmp_path, raw, "first")
    entries = raw_entries()
    assert len(entries) == 2
    write_jsonl(raw / "day3.jsonl", [session(i, rng) for i in range(120, 150)] + [session(5, random.Random(0))])
    inc_manifest, inc = build_into(tmp_path, raw, "incremental")
    after = raw_entries()
    assert len(after) == 3 and all(after[k] == t for k, t in entries.items())  # two chunks reused as they were, one new
    gen = [p for p in (tmp_path / ".cache/build/entries").iterdir() if p.name not in after]
    assert len(gen) > 10  # synthetic/adversarial blocks: the complete ones were reused, not regenerated
    full_manifest, full = build_into(tmp_path, raw, "full", "  cache_dir: ''\n")
    assert inc_manifest["counts"] == full_manifest["counts"]
    for name in ("train.jsonl", "val.jsonl", "quarantine.jsonl"):
        assert (inc / name).read_bytes() == (full / name).read_bytes(), name


def test_workers_and_chunked_files_give_identical_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1)
    raw = tmp_path / "raw"
    rows = [session(i, rng) for i in range(90)]
    write_jsonl(raw / "a.jsonl", rows[:50])
    write_jsonl(raw / "b.jsonl", rows[50:])
    with open(raw / "b.jsonl", "ab") as fh:
        fh.write(b"{broken\n")
    _, one = build_into(tmp_path, raw, "one", "  cache_dir: ''\n")
    monkeypatch.setattr(build_cache, "CHUNK_BYTES", 4096)  # many chunks per file, cut at line starts
    monkeypatch.setattr(build_cache.BuildCache.plan, "__defaults__", (4096,))
    manifest, two = build_into(tmp_path, raw, "two", "  cache_dir: cachetwo\n  num_proc: 2\n")
    assert len(list((tmp_path / "cachetwo/entries").iterdir())) > 4
    for name in ("train.jsonl", "val.jsonl", "quarantine.jsonl"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    q = [json.loads(line) for line in (two / "quarantine.jsonl").read_text().splitlines()]
    assert q == [{"origin": f"{raw / 'b.jsonl'}:41", "reason": "invalid_json", "detail": q[0]["detail"]}]
    assert manifest["accounting_ok"]


def test_near_duplicates_removed_earliest_kept_and_straddles_counted(tmp_path: Path) -> None:
    rng = random.Random(2)
    raw = tmp_path / "raw"
    base = [session(i, rng, n_words=120) for i in range(40)]
    copies = []
    for i, row in enumerate(base[:20]):  # a near-copy: one word changed in a long conversation
        c = json.loads(json.dumps(row))
        c["messages"][0]["content"] = c["messages"][0]["content"].replace(" ", " tweak ", 1)
        copies.append(c)
    write_jsonl(raw / "a.jsonl", base)
    write_jsonl(raw / "b.jsonl", copies)
    manifest, out = build_into(tmp_path, raw, "out", "  synthetic_ratio: 0\n  adversarial_ratio: 0\n")
    c = manifest["counts"]
    assert c["duplicates_by_kind"]["near"] == 20 and c["duplicates_by_kind"]["exact"] == 0
    origins = [json.loads(line)["metadata"]["origin"] for s in ("train", "val") for line in (out / f"{s}.jsonl").read_text().splitlines()]
    assert all(o.startswith(str(raw / "a.jsonl")) for o in origins) and len(origins) == 40  # the earliest copies stay
    assert 0 < c["near_dup_cross_split_prevented"] < 20  # some copies hashed to the other split: none leaked
    assert manifest["dedup"]["minhash"]["bands"] * manifest["dedup"]["minhash"]["rows"] <= 128
    _, off = build_into(tmp_path, raw, "off", "  synthetic_ratio: 0\n  adversarial_ratio: 0\n  near_dedup: false\n")
    assert json.loads((off / "dataset_manifest.json").read_text())["counts"]["kept"] == 60


def test_golden_near_copies_never_enter_train_or_val(tmp_path: Path) -> None:
    rng = random.Random(3)
    raw = tmp_path / "raw"
    rows = [session(i, rng, n_words=100) for i in range(30)]
    write_jsonl(raw / "a.jsonl", rows)
    write_jsonl(tmp_path / "golden" / "eval.jsonl", [rows[4], rows[17]])
    manifest, out = build_into(tmp_path, raw, "out", "  synthetic_ratio: 0\n  adversarial_ratio: 0\n  golden_dir: golden\n")
    assert manifest["counts"]["duplicates_by_kind"]["golden"] == 2
    assert manifest["inputs"]["golden"]["examples"] == 2
    text = (out / "train.jsonl").read_text() + (out / "val.jsonl").read_text()
    assert "Task 4:" not in text and "Task 17:" not in text and "Task 5:" in text


def test_golden_set_also_excludes_generated_examples(tmp_path: Path) -> None:
    """Generated examples skip near-dup signatures in phase 1; with a golden set they get them in
    phase 2, so a synthetic example that is also a golden item (or a near copy of one) is dropped."""
    from tracelora.dataset.synthesis import generate, load_templates
    rng = random.Random(5)
    raw = tmp_path / "raw"
    write_jsonl(raw / "a.jsonl", [session(i, rng) for i in range(40)])
    first = next(generate(load_templates(ROOT / "data/seeds/synthetic.jsonl"), "synthetic", 1, 42))
    near = json.loads(json.dumps(first))
    near["messages"][-1]["content"] += " (checked)"
    write_jsonl(tmp_path / "golden" / "eval.jsonl", [near])
    params = "  seed: 42\n  synthetic_ratio: 0.25\n  adversarial_ratio: 0\n"
    manifest, out = build_into(tmp_path, raw, "with_golden", params + "  golden_dir: golden\n")
    plain, _ = build_into(tmp_path, raw, "no_golden", params)
    assert manifest["counts"]["duplicates_by_kind"]["golden"] >= 1
    assert manifest["counts"]["read_by_kind"]["synthetic"] == plain["counts"]["read_by_kind"]["synthetic"]
    assert manifest["counts"]["kept"] == plain["counts"]["kept"] - manifest["counts"]["duplicates_by_kind"]["golden"]
    text = (out / "train.jsonl").read_text() + (out / "val.jsonl").read_text()
    assert first["messages"][0]["content"] not in text


def test_quality_filters_have_reason_codes(tmp_path: Path) -> None:
    rng = random.Random(4)
    raw = tmp_path / "raw"
    good = [session(i, rng) for i in range(10)]
    trivial = {"messages": [{"role": "user", "content": "Please rename the module to something better"},
                            {"role": "assistant", "content": "ok"}]}
    no_result = session(100, rng)
    del no_result["messages"][2]
    no_call = session(101, rng)
    del no_call["messages"][1]["tool_calls"]
    no_call["messages"][1]["content"] = "Looking."
    garbage = session(102, rng)
    garbage["messages"][3]["content"] = "\x01\x02\x03\ufffd" * 200
    failed = {**session(103, rng), "outcome": "failure"}
    cyrillic = session(104, rng)
    cyrillic["messages"][0]["content"] = "Исправь падающий тест в модуле загрузки и проверь результат " * 3
    cyrillic["messages"][3]["content"] = "Готово: тест исправлен и проходит " * 3
    write_jsonl(raw / "a.jsonl", good + [trivial, no_result, no_call, garbage, failed, cyrillic])
    m, _ = build_into(tmp_path, raw, "out", "  synthetic_ratio: 0\n  adversarial_ratio: 0\n  min_charset_ratio: 0.5\n")
    assert m["counts"]["filtered_by_reason"] == {"trivial_assistant": 1, "tool_call_without_result": 1,
                                                 "tool_result_without_call": 1, "control_chars": 1, "outcome_failure": 1,
                                                 "charset_ratio": 1}
    m, _ = build_into(tmp_path, raw, "keep", "  synthetic_ratio: 0\n  adversarial_ratio: 0\n  keep_failed: true\n")
    assert "outcome_failure" not in m["counts"]["filtered_by_reason"] and m["accounting_ok"]


def test_quarantine_and_logs_never_hold_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = "AKIAIOSFODNN7EXAMPLQ"
    raw = tmp_path / "raw"
    write_jsonl(raw / "a.jsonl", [session(i, random.Random(i)) for i in range(5)] + [
        {"messages": [{"role": key, "content": "x"}]},
        {"messages": [{"role": "user", "content": f"token {key}"}], "outcome": key},
    ])
    with open(raw / "a.jsonl", "ab") as fh:
        fh.write(f'{{"messages": "{key}" oops\n'.encode())
    _, out = build_into(tmp_path, raw, "out")
    captured = capsys.readouterr()
    blob = (out / "quarantine.jsonl").read_text() + captured.out + captured.err
    blob += (out / "dataset_manifest.json").read_text()
    assert key not in blob
    quarantine = (out / "quarantine.jsonl").read_text()
    # a detail names an unknown value by type and length only: a cut prefix of a key no rule would find
    assert "unknown role <str of 20 characters>" in quarantine and "outcome <str of 20 characters>" in quarantine


def test_numpy_minhash_matches_the_reference_bit_for_bit() -> None:
    rng = random.Random(5)
    cfg = LSHConfig(shingle_size=3, num_perm=64, threshold=0.7, seed=7)
    texts = [" ".join(rng.choice(WORDS + ["Ünïcode", "naïve", "日本語"]) for _ in range(rng.randint(0, 80))) for _ in range(60)]
    keys, ok = signatures(texts, cfg)
    for i, t in enumerate(texts):
        ref, ref_ok = signature_reference(t, cfg)
        assert ref_ok == ok[i]
        if ref_ok:
            assert [int(x) for x in keys[i]] == ref
    near = texts[10] + " extra"
    k2, _ = signatures([texts[10], near, texts[11]], cfg)
    if ok[10] and len(texts[10].split()) > 40:
        assert (k2[0] == k2[1]).any()
    assert np.array_equal(k2[0], keys[10])


def test_short_records_that_share_a_few_shingles_are_not_near_copies() -> None:
    """Densification must not fill whole LSH bands from one shared bin: these rows share only the
    template's shingles (Jaccard 0.25), far below the 0.8 threshold; real near-copies still match."""
    cfg = LSHConfig()
    rows = [f"Run the tests for module number {i} and tell me the result. `pytest -q tests/test_module_{i}.py`: "
            f"{i + 3} passed." for i in range(40)]
    keys, ok = signatures(rows, cfg)
    assert ok.all() and (first_near_copies(keys, ok) == -1).all()
    rng = random.Random(3)
    long_text = " ".join(rng.choice(WORDS) for _ in range(300))
    words = long_text.split()
    words[150] = "changed"
    keys, ok = signatures([long_text, " ".join(words)], cfg)
    assert list(first_near_copies(keys, ok)) == [-1, 0]
