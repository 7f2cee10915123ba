"""The Space in a real browser: the app is started with the Dockerfile's own CMD on 127.0.0.1 and a
free port, and headless Debian Chromium (driven by Playwright's Python client) generates, previews
and downloads a dataset, then uploads a file with a bad row. A screenshot of the main page goes to
$TEST_ARTIFACTS (default: artifacts/space/, git-ignored)."""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from space.bundle import bundle_files, zip_bytes
from space.generate import generate_dataset
from space.options import Catalogue, build_options
from tracelora.formats.records import ROLES, content_id
from tracelora.cleaning.redaction import iter_strings, scan_text

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "artifacts") / "space"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FAKE_KEY = "sk-proj-Zq8vN3kLm5Tr7Wx2Yb4Hc6Jd9Fg1Ps0Q"
ROW_LIMIT = 50


def _chromium() -> str:
    """Debian's chromium; installed with apt-get when missing and possible, else the test skips."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "install", "-y", "-qq", "chromium"], ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium"]):
            try:
                subprocess.run(cmd, env=env, capture_output=True, timeout=600, check=False)
            except (OSError, subprocess.TimeoutExpired):
                break
            found = shutil.which("chromium")
            if found:
                break
    if not found:
        pytest.skip("Debian's chromium is not installed and could not be installed with apt-get "
                    "(run `apt-get install -y chromium` as root)")
    return found


def _dockerfile_cmd() -> list[str]:
    """The container's start command, exactly as the Dockerfile's exec-form CMD says."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    cmd = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    assert cmd[0] == "python", cmd
    return [sys.executable, *cmd[1:]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("space_server")
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_TEMP_DIR": str(tmp / "gradio"),
           "SPACE_MAX_UPLOAD_ROWS": str(ROW_LIMIT), "TMPDIR": str(tmp), "PYTHONPATH": ""}
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(_dockerfile_cmd(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the app did not come up on {url}:\n{log_path.read_text()[-3000:]}") from None
                time.sleep(0.3)
        assert health["status"] == "ok" and health["templates"]["synthetic"] > 0
        yield {"url": url, "tmp": tmp, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A persistent context on a fresh, empty profile directory (Playwright's way to pass one)."""
    path = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium_profile")
    with sync_api.sync_playwright() as p:
        try:
            ctx = p.chromium.launch_persistent_context(
                str(profile), executable_path=path, headless=True, args=CHROMIUM_ARGS, accept_downloads=True,
                viewport={"width": 1400, "height": 1000})
        except sync_api.Error as exc:
            first = str(exc).splitlines()[0]
            if "Failed to launch" in first or "doesn't exist" in first or "closed" in first:
                pytest.skip(f"chromium at {path} could not be launched here: {first}")
            raise
        yield ctx
        ctx.close()


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    pg = browser.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(server["url"], wait_until="networkidle")
    yield pg
    pg.close()


def _download(page, selector: str) -> bytes:  # type: ignore[no-untyped-def]
    with page.expect_download() as info:
        page.locator(f"{selector} a[download]").first.click()
    return Path(info.value.path()).read_bytes()


def _set_number(page, elem_id: str, value: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(value)
    box.press("Tab")


def test_generate_preview_and_download(page, server) -> None:  # type: ignore[no-untyped-def]
    cat = Catalogue.load(ROOT / "data" / "seeds")
    _set_number(page, "count", "40")
    _set_number(page, "share", "0.25")
    _set_number(page, "seed", "7")
    page.locator("#categories label", has_text="git").click()  # untick one category
    page.locator("#generate-btn").click()
    status = page.locator("#gen-status")
    status.get_by_text("examples").first.wait_for()
    page.locator("#category-plot svg .mark-rect path").first.wait_for(state="attached")
    page.locator("#token-plot svg .mark-rect path").first.wait_for(state="attached")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "main_page.png"), full_page=True)
    assert (ARTIFACTS / "main_page.png").stat().st_size > 10_000

    preview = page.locator("#preview").inner_text()
    for label in ("user", "assistant", "tool call", "tool result"):
        assert label in preview, f"preview lacks {label!r}"
    assert "40 drawn" in status.inner_text()

    data = _download(page, "#download-jsonl")
    records = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert records, "empty download"
    for rec in records:  # the record contract of DESIGN.md
        assert set(rec) <= {"id", "messages", "tools", "metadata"} and rec["id"] == content_id(rec)
        assert all(m["role"] in ROLES and isinstance(m["content"], str) for m in rec["messages"])
        for m in rec["messages"]:
            for call in m.get("tool_calls", []):
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
        meta = rec["metadata"]
        assert meta["source"] in ("synthetic", "adversarial") and meta["outcome"] == "success"
        assert meta["task_category"] != "git"
        assert not any(scan_text(s) for s in iter_strings(rec))  # nothing secret survives redaction
    assert sum(r["metadata"]["source"] == "adversarial" for r in records) >= 5
    # the plots drew the downloaded data: bar labels ("task_category: bugfix; count: 4") add up
    for plot, value in (("category-plot", "count"), ("token-plot", "examples")):
        labels = page.locator(f"#{plot} svg .mark-rect path").evaluate_all("els => els.map(e => e.ariaLabel)")
        assert sum(int(lab.rsplit(f"{value}: ", 1)[1]) for lab in labels) == len(records), labels

    # What the browser produced is exactly what the library makes for the same choices: the UI
    # passed every option through, and the file is deterministic.
    opts = build_options(cat, categories=[c for c in cat.categories if c != "git"], count=40, adversarial_share=0.25,
                         attacks=cat.attacks, tools=cat.tools, tool_set="openclaw", seed=7)
    files = bundle_files(generate_dataset(cat, opts), cat)
    assert data == files["dataset.jsonl"]

    bundle = _download(page, "#download-zip")
    assert bundle == zip_bytes(files)
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        sessions = [n for n in zf.namelist() if n.startswith("openclaw/") and n.endswith(".jsonl")
                    and not n.endswith(".trajectory.jsonl")]
    assert manifest["options"]["seed"] == 7 and manifest["counts"]["kept"] == len(records)
    assert len(sessions) == len(records)

    # another seed, then the first one again: a fresh generation gives the very same bytes
    for seed in ("8", "7"):
        _set_number(page, "seed", seed)
        page.locator("#generate-btn").click()
        page.locator(f"#download-jsonl a[download*='-seed{seed}-n40-']").wait_for()
    assert _download(page, "#download-jsonl") == data


def test_upload_shows_per_line_errors_and_redacts(page, server) -> None:  # type: ignore[no-untyped-def]
    good = {"messages": [{"role": "user", "content": f"Deploy with my key {FAKE_KEY} please"},
                         {"role": "assistant", "content": "I will not use a key pasted in chat; set it as a secret."}]}
    rows = [json.dumps(good), '{"messages": [{"role": "user", "content": "broken', json.dumps(
        {"messages": [{"role": "robot", "content": "beep"}]})]
    page.get_by_role("tab", name="Check your traces").click()
    page.locator("#upload input[type=file]").set_input_files(
        files=[{"name": "my-traces.jsonl", "mimeType": "application/jsonl", "buffer": "\n".join(rows).encode() + b"\n"}])
    status = page.locator("#upload-status")
    status.get_by_text("valid").first.wait_for()
    text = status.inner_text()
    assert "my-traces.jsonl:2: invalid_json" in text
    assert "my-traces.jsonl:3: bad_role" in text
    assert "openai_key 1" in text and "1 valid" in text
    table = page.locator("#upload-issues").inner_text()
    assert "invalid_json" in table and "bad_role" in table
    preview = page.locator("#upload-preview").inner_text()
    assert "<SECRET_OPENAI_KEY_1>" in preview and FAKE_KEY not in preview
    page.wait_for_timeout(300)
    # The upload is gone from Gradio's temp dir and never reached the server log.
    leftovers = [p for p in (server["tmp"] / "gradio").rglob("*") if p.is_file() and FAKE_KEY.encode() in p.read_bytes()]
    assert leftovers == []
    assert FAKE_KEY not in Path(server["log"]).read_text()


def test_upload_over_the_row_limit_is_rejected(page) -> None:  # type: ignore[no-untyped-def]
    row = json.dumps({"user": "What does `git stash` do?", "assistant": "It shelves uncommitted changes."})
    page.get_by_role("tab", name="Check your traces").click()
    page.locator("#upload input[type=file]").set_input_files(
        files=[{"name": "big.jsonl", "mimeType": "application/jsonl",
                "buffer": ("\n".join([row] * (ROW_LIMIT + 10)) + "\n").encode()}])
    status = page.locator("#upload-status")
    status.get_by_text("Upload rejected").wait_for()
    assert f"the file has {ROW_LIMIT + 10} rows; the limit is {ROW_LIMIT} rows" in status.inner_text()
