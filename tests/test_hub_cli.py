"""`tracelora hub` end to end against tests/fake_hub.py (a real HTTP server on 127.0.0.1):
every subcommand's success and failure paths, streamed job logs, 401/403/404/429, network down.
The CLI runs as a subprocess with HF_ENDPOINT / HF_HOME set, exactly as a user runs it."""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, make_project
from fake_hub import FakeHub

TOKEN = "hf_aliceWriteToken0123456789abcdef"
READ_TOKEN = "hf_bobReadToken0123456789abcdefgh"
CHAT_ROWS = [
    {"messages": [{"role": "user", "content": "Fix the bug in app.py; my key is AKIAABCDEFGHIJKLMNOP"},
                  {"role": "assistant", "content": "Changed `app.py` line 3 to close the file."}]},
    {"instruction": "Explain git rebase", "input": "", "output": "It replays your commits onto a new base."},
    {"conversations": [{"from": "human", "value": "What does ls -la do?"}, {"from": "gpt", "value": "Lists all files, long format."}]},
    {"prompt": "Write a test for add()", "completion": "def test_add():\n    assert add(1, 2) == 3"},
    {"foo": 1},
    [1, 2],
]


@pytest.fixture
def hub():
    with FakeHub() as h:
        h.add_token(TOKEN, "alice", "write")
        h.add_token(READ_TOKEN, "bob", "read")
        yield h


def hub_env(hub: FakeHub, home: Path, token: str | None = TOKEN, endpoint: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({"HF_ENDPOINT": endpoint or hub.url, "HF_HOME": str(home), "PYTHONPATH": str(ROOT),
                "HF_HUB_DISABLE_TELEMETRY": "1", "DVC_NO_ANALYTICS": "1",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    if token:
        env["HF_TOKEN"] = token
    return env


def cli(hub: FakeHub, tmp_path: Path, *args: str, token: str | None = TOKEN, stdin: str = "", cwd: Path | None = None,
        endpoint: str | None = None, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**hub_env(hub, tmp_path / "hf_home", token, endpoint), **(extra_env or {})}
    proc = subprocess.run([sys.executable, "-m", "tracelora", "hub", *args], cwd=cwd or tmp_path, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)
    for secret in (TOKEN, READ_TOKEN):  # the token never reaches any output
        assert secret not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def jsonl(rows: list) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# --- help ---
def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from tracelora.ops.hub.cli import build_parser

    commands = [[], ["auth"], ["auth", "status"], ["auth", "login"], ["auth", "logout"], ["import-dataset"],
                ["pull-model"], ["push-dataset"], ["push-adapter"], ["jobs"], ["jobs", "run"], ["jobs", "run-gpu-task"],
                ["jobs", "ps"], ["jobs", "logs"], ["jobs", "inspect"], ["jobs", "cancel"], ["jobs", "hardware"]]
    for cmd in commands:
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args([*cmd, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: tracelora hub"), cmd


# --- auth ---
def test_auth_login_status_logout(hub: FakeHub, tmp_path: Path) -> None:
    proc = cli(hub, tmp_path, "auth", "status", token=None)
    assert proc.returncode == 1 and "not logged in" in proc.stdout

    bad = cli(hub, tmp_path, "auth", "login", "--token-stdin", token=None, stdin="hf_wrongTokenxxxxxxxxxxxxxxxx\n")
    assert bad.returncode == 1 and "not authorized (401)" in error_line(bad)

    ok = cli(hub, tmp_path, "auth", "login", "--token-stdin", token=None, stdin=TOKEN + "\n")
    assert ok.returncode == 0, ok.stderr
    assert "as alice" in ok.stdout and "token store" in ok.stdout
    assert (tmp_path / "hf_home" / "token").read_text().strip() == TOKEN  # huggingface_hub's own store

    st = cli(hub, tmp_path, "auth", "status", token=None)
    assert st.returncode == 0 and "as alice (token role: write, from token store)" in st.stdout

    out = cli(hub, tmp_path, "auth", "logout", token=None)
    assert out.returncode == 0 and "logged out" in out.stdout
    assert not (tmp_path / "hf_home" / "token").exists()
    assert cli(hub, tmp_path, "auth", "status", token=None).returncode == 1


def test_auth_status_invalid_token_and_env_source(hub: FakeHub, tmp_path: Path) -> None:
    proc = cli(hub, tmp_path, "auth", "status", token="hf_expiredTokenxxxxxxxxxxxxxxx")
    assert proc.returncode == 1 and "not authorized (401)" in error_line(proc)
    proc = cli(hub, tmp_path, "auth", "status", token=READ_TOKEN)
    assert "as bob (token role: read, from HF_TOKEN)" in proc.stdout


def test_rate_limit_is_retried_then_reported(hub: FakeHub, tmp_path: Path) -> None:
    hub.fail(r"^/api/whoami-v2$", 429, times=2)
    proc = cli(hub, tmp_path, "jobs", "hardware")  # no auth needed: just the listing
    assert proc.returncode == 0
    proc = cli(hub, tmp_path, "auth", "status")
    assert proc.returncode == 0 and "as alice" in proc.stdout
    assert "HTTP 429: retrying in 0s (attempt 2/4)" in proc.stderr
    assert sum(1 for r in hub.state.requests if r[1] == "/api/whoami-v2") == 3  # 2 x 429, then 200

    hub.fail(r"^/api/whoami-v2$", 429, times=20)
    proc = cli(hub, tmp_path, "auth", "status")
    assert proc.returncode == 1 and "rate limited (429)" in error_line(proc)


def test_network_down_and_offline(hub: FakeHub, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    proc = cli(hub, tmp_path, "jobs", "ps", endpoint=dead)
    assert proc.returncode == 1 and error_line(proc).startswith(f"error: network: cannot reach {dead}")
    proc = cli(hub, tmp_path, "jobs", "ps", extra_env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 1 and "offline mode is on" in error_line(proc)


# --- import-dataset ---
def _dataset_repo(hub: FakeHub) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"question": "Which port does the app use?", "answer": "Port 8080, set in config.yaml."},
                                         {"question": "ok", "answer": None}]), buf)
    csv_text = 'prompt,response\n"How do I undo a commit?","git reset --soft HEAD~1 keeps the changes staged."\n'
    hub.add_repo("dataset", "alice/agent-chats", {
        "data/train.jsonl": jsonl(CHAT_ROWS) + "{not json\n\n",
        "data/train-extra.parquet": buf.getvalue(),
        "data/test.csv": csv_text,
        "README.md": "# card",
    })


def test_import_dataset_converts_redacts_and_summarizes(hub: FakeHub, tmp_path: Path) -> None:
    from tracelora.formats.records import normalize

    _dataset_repo(hub)
    proc = cli(hub, tmp_path, "import-dataset", "alice/agent-chats")
    assert proc.returncode == 0, proc.stderr
    out_dir = tmp_path / "data/raw_traces/hf/alice__agent-chats"
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == ["data__test.jsonl", "data__train-extra.jsonl", "data__train.jsonl"]
    # per-file summary lines, then dvc guidance
    assert "hf:alice/agent-chats/data/train.jsonl: 7 rows -> 4 records, 3 quarantined" in proc.stdout
    assert "hf:alice/agent-chats/data/train-extra.parquet: 2 rows -> 1 records, 1 quarantined" in proc.stdout
    assert "hf:alice/agent-chats/data/test.csv: 1 rows -> 1 records" in proc.stdout
    assert "not converted (1): README.md" in proc.stdout
    assert "dvc add data/raw_traces/hf/alice__agent-chats" in proc.stdout

    train = [json.loads(ln) for ln in (out_dir / "data__train.jsonl").read_text().splitlines()]
    assert [r["metadata"]["origin"] for r in train] == [f"hf:alice/agent-chats/data/train.jsonl:{i}" for i in (1, 2, 3, 4)]
    assert "AKIAABCDEFGHIJKLMNOP" not in (out_dir / "data__train.jsonl").read_text()
    assert "<SECRET_AWS_ACCESS_KEY_1>" in train[0]["messages"][0]["content"]
    assert train[1]["messages"] == [{"role": "user", "content": "Explain git rebase"},
                                    {"role": "assistant", "content": "It replays your commits onto a new base."}]
    assert all(r["metadata"]["source"] == "hf:alice/agent-chats" for r in train)
    for r in train:  # build reads them back unchanged
        assert normalize(r, "x")["messages"] == r["messages"]

    quarantine = [json.loads(ln) for ln in (tmp_path / "reports/hub_import/alice__agent-chats.quarantine.jsonl").read_text().splitlines()]
    assert {(q["origin"], q["reason"]) for q in quarantine} == {
        ("hf:alice/agent-chats/data/train.jsonl:5", "unknown_schema"),
        ("hf:alice/agent-chats/data/train.jsonl:6", "not_an_object"),
        ("hf:alice/agent-chats/data/train.jsonl:7", "invalid_json"),
        ("hf:alice/agent-chats/data/train-extra.parquet:2", "unknown_schema")}


def test_import_dataset_split_include_and_errors(hub: FakeHub, tmp_path: Path) -> None:
    _dataset_repo(hub)
    hub.add_repo("dataset", "carol/secret", {"train.jsonl": jsonl(CHAT_ROWS[:1])}, private=True)
    proc = cli(hub, tmp_path, "import-dataset", "alice/agent-chats", "--split", "test")
    assert proc.returncode == 0
    assert sorted(p.name for p in (tmp_path / "data/raw_traces/hf/alice__agent-chats").iterdir()) == ["data__test.jsonl"]

    proc = cli(hub, tmp_path, "import-dataset", "alice/agent-chats", "--include", "README.md")
    assert proc.returncode == 1 and "no data files" in error_line(proc)
    proc = cli(hub, tmp_path, "import-dataset", "alice/missing")
    assert proc.returncode == 1 and error_line(proc) == "error: repository not found (404): check the id"
    proc = cli(hub, tmp_path, "import-dataset", "carol/secret", token=None)
    assert proc.returncode == 1 and "repository not found (401)" in error_line(proc) and "auth login" in error_line(proc)
    proc = cli(hub, tmp_path, "import-dataset", "not a repo!")
    assert proc.returncode == 1 and error_line(proc).startswith("error: bad repo id 'not a repo!'")
    assert not any(r[1].startswith("/api/datasets/not") for r in hub.state.requests)  # rejected before any request


def test_import_dataset_dvc_add(hub: FakeHub, tmp_path: Path) -> None:
    _dataset_repo(hub)
    project = make_project(tmp_path / "proj")
    proc = cli(hub, tmp_path, "import-dataset", "alice/agent-chats", "--split", "test", "--dvc-add", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert (project / "data/raw_traces/hf/alice__agent-chats.dvc").is_file()
    assert "alice__agent-chats" in (project / "data/raw_traces/hf/.gitignore").read_text()


def test_import_dataset_from_a_local_saved_dataset(hub: FakeHub, tmp_path: Path) -> None:
    import datasets

    chats = [{"user": f"How do I check out tag v{i}?", "assistant": f"`git checkout v{i}`"} for i in range(3)]
    datasets.DatasetDict({"train": datasets.Dataset.from_list(chats), "validation": datasets.Dataset.from_list(chats[:1])}
                         ).save_to_disk(str(tmp_path / "my_chats"))
    proc = cli(hub, tmp_path, "import-dataset", str(tmp_path / "my_chats"), "--split", "val")
    assert proc.returncode == 0, proc.stderr
    assert "hf:my_chats/validation: 1 rows -> 1 records, 0 quarantined" in proc.stdout
    assert "not converted (1): train" in proc.stdout and "dvc add data/raw_traces/hf/my_chats" in proc.stdout
    rec = json.loads((tmp_path / "data/raw_traces/hf/my_chats/validation.jsonl").read_text())
    assert rec["metadata"]["source"] == "hf:my_chats" and rec["metadata"]["origin"] == "hf:my_chats/validation:1"
    assert str(tmp_path) not in json.dumps(rec)  # no local path in a trace
    assert hub.state.requests == []  # a local dir never talks to the Hub

    proc = cli(hub, tmp_path, "import-dataset", "my_chats", "--name", "chats-v2")  # relative to the cwd
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "data/raw_traces/hf/chats-v2").iterdir()) == ["train.jsonl", "validation.jsonl"]
    proc = cli(hub, tmp_path, "import-dataset", "my_chats", "--split", "test")
    assert proc.returncode == 1 and error_line(proc) == "error: my_chats: no split test in the saved dataset (it has train, validation)"
    proc = cli(hub, tmp_path, "import-dataset", "my_chats", "--include", "*.arrow")
    assert proc.returncode == 1 and "a saved dataset (save_to_disk) has no data files to --include" in error_line(proc)
    (tmp_path / "my_chats/train/state.json").write_text("{broken")
    proc = cli(hub, tmp_path, "import-dataset", "my_chats")
    line = error_line(proc)
    assert proc.returncode == 1 and line.startswith("error: my_chats: cannot read as a saved Hugging Face dataset")


def test_import_dataset_from_a_local_dir_of_data_files(hub: FakeHub, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "exports"
    (src / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{"prompt": "What does `git stash pop` do?", "completion": "Reapplies the stash."}]),
                   src / "data/train-00000.parquet")
    (src / "data/broken-00001.parquet").write_bytes(b"PAR1 not really parquet")
    qa = pa.Table.from_pylist([{"question": "Which branch is checked out?", "answer": "`git branch --show-current`"}])
    with pa.OSFile(str(src / "data/test.arrow"), "wb") as sink, pa.ipc.new_stream(sink, qa.schema) as writer:
        writer.write_table(qa)  # the Arrow IPC stream format `datasets` writes
    (src / "data/train.jsonl").write_text(jsonl(CHAT_ROWS[:2]) + '{"messages": [\n')
    (src / ".git").mkdir()
    (src / ".git/config.json").write_text("{}")  # hidden dirs are not data
    proc = cli(hub, tmp_path, "import-dataset", str(src))
    assert proc.returncode == 0, proc.stderr
    assert "hf:exports/data/broken-00001.parquet: 1 rows -> 0 records, 1 quarantined {'unreadable_file': 1}" in proc.stdout
    assert "hf:exports/data/test.arrow: 1 rows -> 1 records" in proc.stdout
    assert "hf:exports/data/train-00000.parquet: 1 rows -> 1 records" in proc.stdout
    assert "hf:exports/data/train.jsonl: 3 rows -> 2 records, 1 quarantined {'invalid_json': 1}, 1 redactions" in proc.stdout
    assert ".git/" not in proc.stdout and "config.json" not in proc.stdout and "not converted" not in proc.stdout
    quarantine = [json.loads(ln) for ln in (tmp_path / "reports/hub_import/exports.quarantine.jsonl").read_text().splitlines()]
    assert [(q["origin"], q["reason"]) for q in quarantine] == [("hf:exports/data/broken-00001.parquet:0", "unreadable_file"),
                                                                 ("hf:exports/data/train.jsonl:3", "invalid_json")]
    assert "AKIAABCDEFGHIJKLMNOP" not in (tmp_path / "data/raw_traces/hf/exports/data__train.jsonl").read_text()

    proc = cli(hub, tmp_path, "import-dataset", str(src), "--split", "test", "--include", "data/*.parquet")
    assert proc.returncode == 1 and "no data files" in error_line(proc) and "for split(s) test" in error_line(proc)
    proc = cli(hub, tmp_path, "import-dataset", str(src), "--revision", "v1")
    assert proc.returncode == 1 and error_line(proc) == f"error: --revision v1: {src} is a local directory, not a Hub repo"
    proc = cli(hub, tmp_path, "import-dataset", str(tmp_path / "nowhere"))
    assert proc.returncode == 1 and error_line(proc) == f"error: {tmp_path / 'nowhere'}: no such directory"
    proc = cli(hub, tmp_path, "import-dataset", str(src / "data/train.jsonl"))
    assert proc.returncode == 1 and error_line(proc).startswith(f"error: {src / 'data/train.jsonl'}: not a directory")
    proc = cli(hub, tmp_path, "import-dataset", str(src), "--name", "../up")
    assert proc.returncode == 1 and "--name '../up'" in error_line(proc)
    assert hub.state.requests == []


def test_import_dataset_from_the_hub_cache_offline(hub: FakeHub, tmp_path: Path) -> None:
    from huggingface_hub import snapshot_download

    _dataset_repo(hub)
    cache = tmp_path / "hf_home/hub"  # where HF_HOME=tmp/hf_home puts huggingface_hub's cache
    snapshot_download("alice/agent-chats", repo_type="dataset", cache_dir=cache, endpoint=hub.url, token=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens: any request would fail
    proc = cli(hub, tmp_path, "import-dataset", "alice/agent-chats", "--offline", "--split", "train", endpoint=dead)
    assert proc.returncode == 0, proc.stderr
    out_dir = tmp_path / "data/raw_traces/hf/alice__agent-chats"
    assert sorted(p.name for p in out_dir.iterdir()) == ["data__train-extra.jsonl", "data__train.jsonl"]
    assert "hf:alice/agent-chats/data/train.jsonl: 7 rows -> 4 records, 3 quarantined" in proc.stdout
    train = [json.loads(ln) for ln in (out_dir / "data__train.jsonl").read_text().splitlines()]
    assert train[0]["metadata"]["origin"] == "hf:alice/agent-chats/data/train.jsonl:1"

    proc = cli(hub, tmp_path, "import-dataset", "alice/agent-chats", "--split", "test", endpoint=dead,
               extra_env={"HF_HUB_OFFLINE": "1"})  # HF_HUB_OFFLINE means the cache too
    assert proc.returncode == 0 and "hf:alice/agent-chats/data/test.csv: 1 rows -> 1 records" in proc.stdout
    proc = cli(hub, tmp_path, "import-dataset", "alice/never-fetched", "--offline", endpoint=dead)
    line = error_line(proc)
    assert proc.returncode == 1 and line.startswith("error: alice/never-fetched@main: not in the local Hub cache")
    assert "hf download --repo-type dataset alice/never-fetched" in line


# --- pull-model ---
def test_pull_model(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("model", "alice/tiny", {"config.json": '{"model_type": "llama"}', "model.safetensors": b"\0" * 64,
                                         "tokenizer.json": "{}"})
    hub.add_repo("model", "alice/not-a-model", {"notes.txt": "hi"})
    proc = cli(hub, tmp_path, "pull-model", "alice/tiny")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "models/hub/alice__tiny"
    assert (out / "model.safetensors").read_bytes() == b"\0" * 64
    assert json.loads((out / "hub_source.json").read_text())["repo_id"] == "alice/tiny"
    assert "model.base: models/hub/alice__tiny" in proc.stdout

    proc = cli(hub, tmp_path, "pull-model", "alice/not-a-model", "--out", "m2")
    assert proc.returncode == 0 and "no config.json" in proc.stderr
    proc = cli(hub, tmp_path, "pull-model", "alice/tiny", "--revision", "v9")
    assert proc.returncode == 1 and "revision not found (404)" in error_line(proc)
    proc = cli(hub, tmp_path, "pull-model", "alice/nothing")
    assert proc.returncode == 1 and "repository not found (404)" in error_line(proc)


# --- push ---
def _outputs(root: Path, promote: bool = True, redaction_ok: bool = True) -> None:
    ds = root / "data/dataset"
    ds.mkdir(parents=True)
    (ds / "train.jsonl").write_text(jsonl([{"id": "a", "messages": CHAT_ROWS[1:2]}]))
    (ds / "val.jsonl").write_text(jsonl([{"id": "b", "messages": []}]))
    (ds / "dataset_manifest.json").write_text(json.dumps({
        "counts": {"read": 10, "kept": 8, "train": 6, "val": 2, "by_source": {"raw": {"train": 6, "val": 2}}},
        "params": {"val_fraction": 0.15}, "accounting_ok": True,
        "gates": {"redaction_ok": redaction_ok, "post_redaction_hits": 0 if redaction_ok else 2, "min_example_ok": True}}))
    (root / "metrics").mkdir()
    (root / "metrics/dataset.json").write_text(json.dumps({"kept": 8, "redaction_ok": redaction_ok}))
    (root / "metrics/eval_results.json").write_text(json.dumps({
        "n_examples": 4, "baseline": {"exact_match": 0.0}, "adapter": {"exact_match": 0.25}, "delta": {"exact_match": 0.25}}))
    checks = [{"name": "delta.exact_match", "passed": promote, "reason": "adapter improves exact_match by +0.25"
               if promote else "adapter changes exact_match by -0.10 (< +0.0000)"}]
    (root / "metrics/gate_decision.json").write_text(json.dumps({"promote": promote, "decision": "promote" if promote else "block",
                                                                 "checks": checks}))
    (root / "models/adapter").mkdir(parents=True)
    (root / "models/adapter/adapter_config.json").write_text('{"r": 4}')
    (root / "models/adapter/adapter_model.safetensors").write_bytes(b"\1" * 32)
    (root / "models/adapter/README.md").write_text("peft default card")


def test_push_dataset(hub: FakeHub, tmp_path: Path) -> None:
    _outputs(tmp_path)
    proc = cli(hub, tmp_path, "push-dataset", "alice/traces")
    assert proc.returncode == 0, proc.stderr
    repo = hub.repo("dataset", "alice/traces")
    assert sorted(repo.files) == ["README.md", "dataset_manifest.json", "train.jsonl", "val.jsonl"]
    card = repo.files["README.md"].decode()
    assert "path: train.jsonl" in card and "| kept | 8 |" in card and "| redaction_ok | yes |" in card
    assert "--force" not in card

    proc = cli(hub, tmp_path, "push-dataset", "bob/traces", token=READ_TOKEN)
    assert proc.returncode == 1 and "forbidden (403)" in error_line(proc)
    proc = cli(hub, tmp_path, "push-dataset", "alice/traces2", token=None)
    assert proc.returncode == 1 and error_line(proc).startswith("error: not logged in")


def test_push_dataset_refuses_unredacted_unless_forced(hub: FakeHub, tmp_path: Path) -> None:
    _outputs(tmp_path, redaction_ok=False)
    proc = cli(hub, tmp_path, "push-dataset", "alice/traces")
    assert proc.returncode == 1 and "refusing to push the dataset: redaction_ok is not true" in error_line(proc)
    manifest = tmp_path / "data/dataset/dataset_manifest.json"
    saved = manifest.read_text()
    manifest.write_bytes(b"\xff\xfe")
    proc = cli(hub, tmp_path, "push-dataset", "alice/traces")
    assert proc.returncode == 1 and "dataset_manifest.json: not valid JSON (UnicodeDecodeError)" in error_line(proc)
    manifest.unlink()
    proc = cli(hub, tmp_path, "push-dataset", "alice/traces")
    assert proc.returncode == 1 and "data/dataset/dataset_manifest.json: missing (use --force" in error_line(proc)
    manifest.write_text(saved)
    assert hub.repo("dataset", "alice/traces") is None
    proc = cli(hub, tmp_path, "push-dataset", "alice/traces", "--force")
    assert proc.returncode == 0 and "WARNING: pushed with --force" in proc.stdout
    assert "Pushed with --force" in hub.repo("dataset", "alice/traces").files["README.md"].decode()


def test_push_adapter(hub: FakeHub, tmp_path: Path) -> None:
    _outputs(tmp_path)
    proc = cli(hub, tmp_path, "push-adapter", "alice/lora")
    assert proc.returncode == 0, proc.stderr
    repo = hub.repo("model", "alice/lora")
    assert sorted(repo.files) == ["README.md", "adapter_config.json", "adapter_model.safetensors",
                                  "metrics/eval_results.json", "metrics/gate_decision.json"]
    card = repo.files["README.md"].decode()
    assert card.startswith('---\nbase_model: "HuggingFaceTB/SmolLM2-135M-Instruct"\nlibrary_name: peft\n')
    assert hub.state.cards[-1]["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # the Hub parsed the front matter
    assert "| exact_match | 0.0 | 0.25 | +0.2500 |" in card and "Decision: **promote**" in card
    assert "| delta.exact_match | pass | adapter improves exact_match by +0.25 |" in card
    assert "AutoPeftModelForCausalLM.from_pretrained('alice/lora')" in card and "| kept | 8 |" in card
    assert "peft default card" not in card and "**Missing or unreadable inputs:** metrics/train.json: missing\n" in card


def test_model_cards_come_from_one_writer(tmp_path: Path) -> None:
    """push-adapter's card and the export stage's card share every section's text (tracelora.model.card)."""
    from tracelora.model.card import adapter_card, export_card

    _outputs(tmp_path)
    m = {name: json.loads((tmp_path / "metrics" / f"{name}.json").read_text())
         for name in ("eval_results", "gate_decision", "dataset")}
    pushed = adapter_card("alice/lora", None, m["eval_results"], m["gate_decision"], None, None, [])
    exported = export_card(exported=True, base_name="b", decision=m["gate_decision"], manifest=None, train_metrics=None,
                           train_params={}, eval_results=m["eval_results"], problems=[])
    for section in ("## Gate", "## Evaluation"):
        block = exported.split(section, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
        assert section + block in pushed, section
    assert "base_model" not in pushed.split("---")[1] and "from_pretrained" not in pushed  # unknown base: no claim


def test_push_adapter_names_unreadable_card_inputs(hub: FakeHub, tmp_path: Path) -> None:
    _outputs(tmp_path)
    (tmp_path / "metrics/eval_results.json").write_text("{truncated")
    proc = cli(hub, tmp_path, "push-adapter", "alice/lora")
    assert proc.returncode == 0, proc.stderr
    repo = hub.repo("model", "alice/lora")
    card = repo.files["README.md"].decode()
    assert "**Missing or unreadable inputs:** metrics/eval_results.json: not valid JSON (JSONDecodeError)" in card
    assert "## Evaluation" not in card and "metrics/eval_results.json" not in repo.files


def test_push_adapter_refuses_blocked_gate_unless_forced(hub: FakeHub, tmp_path: Path) -> None:
    _outputs(tmp_path, promote=False)
    proc = cli(hub, tmp_path, "push-adapter", "alice/lora")
    assert proc.returncode == 1
    assert "the gate did not promote (adapter changes exact_match by -0.10" in error_line(proc)
    assert hub.repo("model", "alice/lora") is None
    (tmp_path / "metrics/gate_decision.json").write_text('["promote"]')
    proc = cli(hub, tmp_path, "push-adapter", "alice/lora")
    assert proc.returncode == 1 and "metrics/gate_decision.json: not a JSON object" in error_line(proc)
    (tmp_path / "metrics/gate_decision.json").write_text('{"promote": tru')
    proc = cli(hub, tmp_path, "push-adapter", "alice/lora")
    assert proc.returncode == 1 and "metrics/gate_decision.json: not valid JSON (JSONDecodeError)" in error_line(proc)
    (tmp_path / "metrics/gate_decision.json").unlink()
    (tmp_path / "metrics/dataset.json").unlink()
    (tmp_path / "metrics/dataset.json").mkdir()  # unreadable, not a crash
    proc = cli(hub, tmp_path, "push-adapter", "alice/lora")
    line = error_line(proc)
    assert proc.returncode == 1 and "metrics/gate_decision.json: missing" in line
    assert "metrics/dataset.json: unreadable (IsADirectoryError)" in line and "--force" in line
    proc = cli(hub, tmp_path, "push-adapter", "alice/lora", "--force")
    assert proc.returncode == 0
    card = hub.repo("model", "alice/lora").files["README.md"].decode()
    assert "Pushed with --force" in card and "gate_decision.json: missing" in card and "## Gate" not in card


# --- jobs ---
def test_jobs_run_streams_logs_and_exit_status(hub: FakeHub, tmp_path: Path) -> None:
    proc = cli(hub, tmp_path, "jobs", "run", "python:3.12", "--", "echo", "hello", "world")
    assert proc.returncode == 0, proc.stderr
    assert "hello world\n" in proc.stdout and "finished: COMPLETED" in proc.stdout
    job = next(iter(hub.state.jobs.values()))
    assert job.spec["command"] == ["echo", "hello", "world"] and job.spec["flavor"] == "cpu-basic"
    assert job.spec["secrets"] == {"HF_TOKEN": TOKEN}  # the token travels only as a job secret

    proc = cli(hub, tmp_path, "jobs", "run", "python:3.12", "--", "python", "-c", "FAIL")
    assert proc.returncode == 1 and "finished: ERROR (exit code 1)" in proc.stdout

    proc = cli(hub, tmp_path, "jobs", "run", "--flavor", "h100x9", "python:3.12", "--", "true")
    assert proc.returncode == 1 and "unknown flavor 'h100x9'" in error_line(proc) and "t4-small" in error_line(proc)
    proc = cli(hub, tmp_path, "jobs", "run", "python:3.12", "--", "true", token=READ_TOKEN)
    assert proc.returncode == 1 and "forbidden (403)" in error_line(proc)
    proc = cli(hub, tmp_path, "jobs", "run", "python:3.12", "--", "true", token=None)
    assert proc.returncode == 1 and error_line(proc).startswith("error: not logged in")


def test_jobs_follow_ps_inspect_cancel(hub: FakeHub, tmp_path: Path) -> None:
    proc = cli(hub, tmp_path, "jobs", "run", "--detach", "ubuntu", "--", "sleep", "600")
    assert proc.returncode == 0
    job_id = proc.stdout.split()[1]
    env = hub_env(hub, tmp_path / "hf_home")
    follower = subprocess.Popen([sys.executable, "-m", "tracelora", "hub", "jobs", "logs", job_id, "--follow"], cwd=tmp_path,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # lines arrive while the job is still running
        line = follower.stdout.readline()
        seen.append(line.strip())
        if line.startswith("tick 2"):
            break
    assert "running: sleep 600" in seen and hub.state.jobs[job_id].stage == "RUNNING"

    ps = cli(hub, tmp_path, "jobs", "ps")
    assert job_id in ps.stdout and "RUNNING" in ps.stdout
    insp = json.loads(cli(hub, tmp_path, "jobs", "inspect", job_id).stdout)
    assert insp["stage"] == "RUNNING" and insp["secrets"] == ["HF_TOKEN"] and insp["command"] == ["sleep", "600"]

    cancel = cli(hub, tmp_path, "jobs", "cancel", job_id)
    assert cancel.returncode == 0 and f"job {job_id}: CANCELED" in cancel.stdout
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 1 and f"job {job_id} finished: CANCELED" in out, err

    assert "no running jobs" in cli(hub, tmp_path, "jobs", "ps").stdout
    assert job_id in cli(hub, tmp_path, "jobs", "ps", "-a").stdout
    logs = cli(hub, tmp_path, "jobs", "logs", job_id)
    assert logs.returncode == 0 and "tick 1" in logs.stdout


def test_jobs_errors_404_401(hub: FakeHub, tmp_path: Path) -> None:
    for action in ("inspect", "cancel", "logs"):
        proc = cli(hub, tmp_path, "jobs", action, "0123456789abcdef01234567")
        assert proc.returncode == 1 and error_line(proc).startswith("error: not found (404)"), action
    proc = cli(hub, tmp_path, "jobs", "ps", token="hf_revokedTokenxxxxxxxxxxxxxxx")
    assert proc.returncode == 1 and "not authorized (401)" in error_line(proc)
    hub.fail(r"^/api/jobs/hardware$", 429, times=1)
    proc = cli(hub, tmp_path, "jobs", "hardware")
    assert proc.returncode == 0 and "a10g-small" in proc.stdout


def test_run_gpu_task(hub: FakeHub, tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    proc = cli(hub, tmp_path, "jobs", "run-gpu-task", "--repo-url", "https://example.org/me/proj.git", "--ref", "v1",
               "--flavor", "a10g-small", "--params", "train.lorar=3")
    assert proc.returncode == 1 and "train.lorar: unknown key" in error_line(proc)
    assert not any(m == "POST" for m, *_ in hub.state.requests)  # nothing submitted

    proc = cli(hub, tmp_path, "jobs", "run-gpu-task", "--repo-url", "https://example.org/me/proj.git", "--ref", "v1",
               "--flavor", "a10g-small", "--params", "train.lora_r=32", "data.synthetic_ratio=0.3", "--detach")
    assert proc.returncode == 0, proc.stderr
    job = next(iter(hub.state.jobs.values()))
    spec = job.spec
    assert spec["flavor"] == "a10g-small" and spec["dockerImage"].startswith("pytorch/pytorch")
    assert spec["environment"]["REPO_URL"] == "https://example.org/me/proj.git" and spec["environment"]["REPO_REF"] == "v1"
    assert json.loads(spec["environment"]["PARAM_OVERRIDES"]) == {"data.synthetic_ratio": 0.3, "train.lora_r": 32}
    assert list(spec["secrets"]) == ["HF_TOKEN"]
    script = spec["command"][2]
    assert "dvc repro" in script and subprocess.run(["bash", "-n", "-c", script]).returncode == 0
    # dvc.yaml's commands are the `tracelora` console script: the job installs the package before repro
    assert -1 < script.find("pip install -q --no-deps --no-build-isolation -e .") < script.find("dvc repro")
    assert "tracelora gate --show" in script and "python -m stages" not in script
    # the remote params step, run here on a copy of params.yaml, gives a valid params file
    snippet = script.split("python - <<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    subprocess.run([sys.executable, "-c", snippet], cwd=remote, check=True, capture_output=True,
                   env={**os.environ, "PARAM_OVERRIDES": spec["environment"]["PARAM_OVERRIDES"]})
    from tracelora.common.params import load_params

    applied = load_params(remote / "params.yaml")
    assert applied.train.lora_r == 32 and applied.data.synthetic_ratio == 0.3

    proc = cli(hub, tmp_path, "jobs", "run-gpu-task", "--repo-url", "u", "--ref", "main", "--flavor", "gpu-9000")
    assert proc.returncode == 1 and "unknown flavor 'gpu-9000'" in error_line(proc)
    proc = cli(hub, tmp_path, "jobs", "run-gpu-task", "--repo-url", "u", "--ref", "main")
    assert proc.returncode == 2 and "--flavor" in proc.stderr
