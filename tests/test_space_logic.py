"""The Space's pure logic (space/ and the selection/mixing/tool-set additions to tracelora.dataset.synthesis):
determinism down to the bytes, agreement with the build stage's generator, the OpenClaw export read
back by the project's own OpenClaw ingest adapter, the ZIP manifest, upload limits and per-line
errors, and HTML escaping of untrusted text."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from space import render, stats
from space.bundle import bundle_files, file_stem, jsonl_bytes, write_downloads, zip_bytes
from space.generate import generate_dataset
from tracelora.formats.openclaw_sessions import SESSION_VERSION, export_sessions, session_id
from space.options import MAX_EXAMPLES, Catalogue, OptionsError, build_options
from space.upload import UploadLimitError, check_limits, validate_upload
from tracelora.formats.records import ROLES, content_id
from tracelora.cleaning.redaction import iter_strings, scan_text
from tracelora.dataset.synthesis import apply_tool_set, generate, mix, select, template_tools

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "sk-proj-Zq8vN3kLm5Tr7Wx2Yb4Hc6Jd9Fg1Ps0Q"


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return Catalogue.load(ROOT / "data" / "seeds")


def opts(cat: Catalogue, **kw):  # type: ignore[no-untyped-def]
    base = {"categories": cat.categories, "count": 60, "adversarial_share": 0.25, "attacks": cat.attacks,
            "tools": cat.tools, "tool_set": "openclaw", "seed": 11}
    return build_options(cat, **{**base, **kw})


def test_mix_keeps_the_build_generators_rows(cat: Catalogue) -> None:
    rows = list(mix(cat.synthetic, cat.adversarial, 40, 0.25, 5))
    assert [k for k, _, _ in rows].count("adversarial") == 10 and len(rows) == 40
    for kind, templates in (("synthetic", cat.synthetic), ("adversarial", cat.adversarial)):
        mine = [(i, r) for k, i, r in rows if k == kind]
        assert [i for i, _ in mine] == list(range(len(mine)))
        assert [r for _, r in mine] == list(generate(templates, kind, len(mine), 5))  # what `build` makes
    assert apply_tool_set(rows[0][2], "seed") is rows[0][2]


def test_generation_is_byte_deterministic(cat: Catalogue, tmp_path: Path) -> None:
    a, b = generate_dataset(cat, opts(cat)), generate_dataset(cat, opts(cat))
    files_a, files_b = bundle_files(a, cat), bundle_files(b, cat)
    assert files_a == files_b and zip_bytes(files_a) == zip_bytes(files_b)
    pa, pb = write_downloads(a, cat, tmp_path / "1"), write_downloads(b, cat, tmp_path / "2")
    assert [p.name for p in pa] == [p.name for p in pb]
    assert [p.read_bytes() for p in pa] == [p.read_bytes() for p in pb]
    assert pa[0].read_bytes() == files_a["dataset.jsonl"]
    other = generate_dataset(cat, opts(cat, seed=12))
    assert jsonl_bytes(other.records) != files_a["dataset.jsonl"] and file_stem(other) != file_stem(a)
    # the click order of checkboxes does not matter
    assert opts(cat, categories=list(reversed(cat.categories))) == opts(cat)


def test_choices_are_respected(cat: Catalogue) -> None:
    ds = generate_dataset(cat, opts(cat, categories=["git", "refactor"], tools=["bash", "grep"], count=40,
                                    adversarial_share=0.5, attacks=["injection"]))
    assert ds.counts["read_by_kind"] == {"adversarial": 20, "synthetic": 20}
    assert ds.counts["read"] == ds.counts["kept"] + ds.counts["duplicates"] + ds.counts["quarantined"] + ds.counts["filtered"]
    assert {r["metadata"]["task_category"] for r in ds.records} <= {"git", "refactor", "safety"}
    assert {r["metadata"].get("attack") for r in ds.records if r["metadata"]["source"] == "adversarial"} == {"injection"}
    for rec in ds.records:
        names = {c["function"]["name"] for m in rec["messages"] for c in m.get("tool_calls", [])}
        assert names <= {"exec"}  # OpenClaw runs bash and grep through exec
        if names:
            assert [t["function"]["name"] for t in rec["tools"]] == ["exec"]
    assert all(template_tools(t) <= {"bash"} for t in select(cat.synthetic, tools=["bash"]))


def test_tool_sets_rename_tools_and_arguments(cat: Catalogue) -> None:
    edit = next(t for t in cat.synthetic if "edit" in template_tools(t))
    row = next(r for r in generate([edit], "synthetic", 1, 3))
    for tool_set, name, keys in (("openclaw", "edit", {"path", "oldText", "newText"}),
                                 ("opencode", "edit", {"filePath", "oldString", "newString"})):
        out = apply_tool_set(row, tool_set)
        calls = [c for m in out["messages"] for c in m.get("tool_calls", []) if c["function"]["name"] == name]
        assert calls and set(calls[0]["function"]["arguments"]) == keys
        schema = next(t["function"] for t in out["tools"] if t["function"]["name"] == name)
        assert set(schema["parameters"]["required"]) == keys
        assert {c["function"]["name"] for m in out["messages"] for c in m.get("tool_calls", [])} == \
               {m["name"] for m in out["messages"] if m["role"] == "tool"}
    assert "tools" not in apply_tool_set(row, "seed")


@pytest.mark.parametrize("kw, message", [
    ({"count": 0}, "between 1 and"), ({"count": MAX_EXAMPLES + 1}, "between 1 and"), ({"count": 2.5}, "whole"),
    ({"adversarial_share": 1.5}, "between 0 and 1"), ({"categories": ["cooking"]}, "unknown task categories"),
    ({"categories": ["testing"], "tools": []}, "no template matches"),
    ({"attacks": [], "adversarial_share": 0.5}, "no adversarial template"), ({"tool_set": "vim"}, "tool set"),
    ({"seed": "x"}, "must be numbers"),
])
def test_bad_options_say_what_to_change(cat: Catalogue, kw: dict, message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        opts(cat, **kw)


def test_records_follow_the_contract(cat: Catalogue) -> None:
    ds = generate_dataset(cat, opts(cat, count=120, adversarial_share=0.3))
    assert len(ds.records) == ds.counts["kept"] == len(ds.splits) and ds.rejected == []
    for rec in ds.records:
        assert list(rec) == (["id", "messages", "tools", "metadata"] if "tools" in rec else ["id", "messages", "metadata"])
        assert rec["id"] == content_id(rec)
        assert all(m["role"] in ROLES for m in rec["messages"]) and rec["messages"][-1]["role"] == "assistant"
        for m in rec["messages"]:
            for c in m.get("tool_calls", []):
                assert isinstance(json.loads(c["function"]["arguments"]), dict)
        assert rec["metadata"]["origin"].split(":")[0] == rec["metadata"]["source"]
        assert not any(scan_text(s) for s in iter_strings(rec))
    # exfiltration templates carry fake keys on purpose: redaction replaced them, and counted them
    if any(r["metadata"].get("template_id") == "exfil-after-read-env" for r in ds.records):
        assert ds.counts["redactions"] > 0


def test_openclaw_sessions_have_the_transcript_shape(cat: Catalogue) -> None:
    ds = generate_dataset(cat, opts(cat, count=30))
    files = export_sessions(ds.records)
    root = "openclaw/agents/synthetic/sessions"
    index = json.loads(files[f"{root}/sessions.json"])
    assert len(index) == len(ds.records)
    for i, rec in enumerate(ds.records):
        sid = session_id(rec)
        assert index[f"agent:synthetic:example-{i:05d}"]["sessionId"] == sid
        lines = [json.loads(x) for x in files[f"{root}/{sid}.jsonl"].decode().splitlines()]
        header, entries = lines[0], lines[1:]
        assert header["type"] == "session" and header["version"] == SESSION_VERSION and header["id"] == sid
        parent = None
        answered, called = [], []
        for e in entries:
            assert e["type"] == "message" and re.fullmatch(r"[0-9a-f]{8}", e["id"]) and e["parentId"] == parent
            parent = e["id"]
            msg = e["message"]
            assert msg["role"] in ("user", "assistant", "toolResult")
            if msg["role"] == "assistant":
                calls = [b for b in msg["content"] if b["type"] == "toolCall"]
                called += [c["id"] for c in calls]
                assert msg["stopReason"] == ("toolUse" if calls else "stop")
                assert all(isinstance(c["arguments"], dict) for c in calls)
            elif msg["role"] == "toolResult":
                assert msg["toolCallId"] in called and msg["toolCallId"] not in answered
                answered.append(msg["toolCallId"])
        assert answered == called
        traj = files.get(f"{root}/{sid}.trajectory.jsonl")
        if rec.get("tools"):
            event = json.loads(traj)
            assert event["type"] == "context.compiled" and event["sessionId"] == sid
            assert [t["name"] for t in event["data"]["tools"]] == [t["function"]["name"] for t in rec["tools"]]
        else:
            assert traj is None


def test_openclaw_export_reads_back_through_the_ingest_adapter(cat: Catalogue, tmp_path: Path) -> None:
    from tracelora.ops.ingest import openclaw
    from tracelora.ops.ingest.model import Ledger

    ds = generate_dataset(cat, opts(cat, count=25, adversarial_share=0.4))
    for path, data in export_sessions(ds.records).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    units = openclaw.discover(tmp_path)
    assert len(units) == len(ds.records)

    def canon(msgs: list[dict]) -> list[tuple]:
        return [(m["role"], m["content"], [(c["function"]["name"], json.loads(c["function"]["arguments"]))
                                           for c in m.get("tool_calls", [])]) for m in msgs]

    for rec in ds.records:
        unit = tmp_path / f"openclaw/agents/synthetic/sessions/{session_id(rec)}.jsonl"
        ledger = Ledger(str(unit), "file")
        back = [r for s in openclaw.iter_sessions(unit, ledger) for r in openclaw.to_records(s, ledger)]
        assert len(back) == 1 and ledger.quarantine == [] and ledger.warnings == []
        assert canon(back[0]["messages"]) == canon(rec["messages"])
        assert back[0].get("tools") == rec.get("tools")
        assert back[0]["metadata"]["agent"] == "synthetic" and back[0]["metadata"]["outcome"] == "success"


def test_zip_bundle_and_manifest(cat: Catalogue) -> None:
    ds = generate_dataset(cat, opts(cat, count=50))
    files = bundle_files(ds, cat)
    with zipfile.ZipFile(io.BytesIO(zip_bytes(files))) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        for entry in manifest["files"]:
            data = zf.read(entry["path"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and data.count(b"\n") == entry["lines"]
        assert all(i.date_time == (2026, 1, 1, 0, 0, 0) for i in zf.infolist())
        train, val = zf.read("train.jsonl").splitlines(), zf.read("val.jsonl").splitlines()
    assert names[-1] == "manifest.json" and {e["path"] for e in manifest["files"]} == set(names[:-1])
    assert sorted(train + val) == sorted(files["dataset.jsonl"].splitlines())
    assert manifest["counts"]["train"] == len(train) and manifest["counts"]["val"] == len(val)
    assert manifest["options"] == ds.options.as_dict()
    assert manifest["seed_templates"]["synthetic"] == len(cat.synthetic)


def test_stats_and_histogram(cat: Catalogue) -> None:
    ds = generate_dataset(cat, opts(cat, count=80))
    s = stats.summary(ds.records, ds.splits)
    assert s["examples"] == len(ds.records) == sum(s["by_task_category"].values())
    assert s["by_split"] == {"train": ds.counts["train"], "val": ds.counts["val"]}
    lengths = [stats.approx_tokens(r) for r in ds.records]
    hist = stats.token_histogram(lengths)
    assert sum(h["examples"] for h in hist) == len(lengths) and len(hist) <= 10
    assert s["tokens"]["min"] == min(lengths) > 0 and s["tokens"]["max"] == max(lengths)
    assert stats.token_histogram([]) == []


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_upload_reports_each_bad_line(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": f"Deploy with my key {FAKE_KEY} please"},
                         {"role": "assistant", "content": "I will not use a key pasted in chat; set it as a secret."}]}
    path = _write(tmp_path / "t.jsonl", [
        json.dumps(good), "{oops", json.dumps({"messages": [{"role": "robot", "content": "x"}]}), "",
        json.dumps({"user": "hi", "assistant": "yo"}), json.dumps(good), json.dumps([1, 2]),
        json.dumps({"conversations": [{"from": "human", "value": "What is 2+2 in Python?"},
                                      {"from": "gpt", "value": "`2 + 2` evaluates to `4`."}]})])
    report = validate_upload(path, "../../etc/<my traces>.jsonl")
    assert report.name == "_my traces_.jsonl" and report.lines == 8
    got = [(i.line, i.status, i.reason) for i in report.issues]
    assert got == [(2, "quarantined", "invalid_json"), (3, "quarantined", "bad_role"), (5, "filtered", "too_short"),
                   (6, "duplicate", "exact"), (7, "quarantined", "not_an_object")]
    assert report.issues[0].message(report.name).startswith("_my traces_.jsonl:2: invalid_json: ")
    assert "_my traces_.jsonl:1" in report.issues[3].detail
    c = report.counts
    assert (c["kept"], c["blank_lines"], c["redactions_by_rule"]) == (2, 1, {"openai_key": 2})
    assert c["read"] == c["kept"] + c["quarantined"] + c["filtered"] + c["duplicates"]
    assert FAKE_KEY not in json.dumps(report.records) and "<SECRET_OPENAI_KEY_1>" in json.dumps(report.records)
    assert report.records[1]["metadata"]["source"] == "upload"


def test_upload_limits_are_checked_before_parsing(tmp_path: Path) -> None:
    rows = _write(tmp_path / "rows.jsonl", ["{not json"] * 11)
    with pytest.raises(UploadLimitError, match="the file has 11 rows; the limit is 10 rows"):
        validate_upload(rows, "rows.jsonl", max_rows=10)
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"x" * (2 * 2**20 + 1))
    with pytest.raises(UploadLimitError, match=r"2\.0 MiB; the limit is 2 MiB"):
        check_limits(big, max_bytes=2 * 2**20)
    no_newline = tmp_path / "n.jsonl"
    no_newline.write_bytes(b'{"a": 1}\n{"b": 2}')
    assert check_limits(no_newline) == 2


def test_preview_renders_roles_and_escapes_markup() -> None:
    rec = {"messages": [{"role": "user", "content": "<script>alert(1)</script> fix it"},
                        {"role": "assistant", "content": "", "tool_calls": [
                            {"type": "function", "function": {"name": "read", "arguments": '{"path": "<b>x</b>"}'}}]},
                        {"role": "tool", "name": "read", "content": "x" * 5000},
                        {"role": "assistant", "content": "done"}],
           "metadata": {"task_category": "bugfix", "source": "upload", "origin": "u.jsonl:1"}}
    html = render.preview_html([rec, rec], limit=1)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "tool call <code>read</code>" in html and "tool result · read" in html
    assert "3500 more characters" in html and "1 more in the download" in html
    assert "No conversations" in render.preview_html([])


def test_app_handlers_report_errors_and_delete_uploads(cat: Catalogue, tmp_path: Path) -> None:
    import app

    out = app.on_generate(["testing"], 10, 0.0, cat.attacks, [], "openclaw", 1)
    assert out[0].startswith("**Cannot generate:** no template matches") and out[-2:] == (None, None)
    ok = app.on_generate(cat.categories, 12, 0.25, cat.attacks, cat.tools, "opencode", 3)
    assert Path(ok[-2]).read_bytes() == bundle_files(generate_dataset(cat, opts(cat, count=12, seed=3,
                                                                                tool_set="opencode")), cat)["dataset.jsonl"]
    upload = _write(tmp_path / "mine.jsonl", ["{bad"] * (app.MAX_ROWS + 1))
    status, issues, _ = app.on_upload(str(upload))
    assert status.startswith("**Upload rejected:** the file has") and issues.empty and not upload.exists()
    upload = _write(tmp_path / "mine.jsonl", ['{"user": "What does `ls -a` show?", "assistant": "Hidden files too."}',
                                              "{bad"])
    status, issues, preview = app.on_upload(str(upload))
    assert "mine.jsonl:2: invalid_json" in status and list(issues["line"]) == [2] and "Hidden files too." in preview
    assert not upload.exists()  # Gradio's copy of the upload is gone once checked


def test_the_download_folder_stays_bounded_under_repeated_requests(cat: Catalogue, tmp_path: Path) -> None:
    """A public Space: many distinct requests never fill the disk; the files of the latest request stay."""
    out = tmp_path / "downloads"
    out.mkdir()
    sizes = []
    for seed in range(12):
        paths = write_downloads(generate_dataset(cat, opts(cat, seed=seed)), cat, out, max_bytes=1_500_000)
        assert all(p.exists() for p in paths)
        sizes.append(sum(p.stat().st_size for p in out.iterdir()))
    one = sum(p.stat().st_size for p in paths)
    assert max(sizes) <= max(1_500_000, one) and len(list(out.iterdir())) < 24
    # and nothing older than the age limit survives a later request
    for p in out.iterdir():
        os.utime(p, (1, 1))
    latest = write_downloads(generate_dataset(cat, opts(cat, seed=99)), cat, out, max_age_s=60)
    assert sorted(out.iterdir()) == sorted(latest)
