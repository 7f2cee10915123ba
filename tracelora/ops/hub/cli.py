"""Hugging Face Hub and Jobs for this pipeline, on huggingface_hub's Python API.

    tracelora hub auth status|login|logout
    tracelora hub import-dataset OWNER/NAME|DIR [--include PATTERN] [--split train] [--offline] [--dvc-add]
    tracelora hub pull-model OWNER/NAME [--revision REV] [--out DIR]
    tracelora hub push-dataset OWNER/NAME [--force]
    tracelora hub push-adapter OWNER/NAME [--force]
    tracelora hub jobs run IMAGE -- CMD ...
    tracelora hub jobs run-gpu-task --repo-url URL --ref REF --flavor FLAVOR [--params K=V ...] [--detach]
    tracelora hub jobs ps [-a] | logs ID [--follow] | inspect ID | cancel ID | hardware

Every failure ends in one `error: ...` line and exit 1 (2 for usage). See docs/hub.md.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any, Callable

from tracelora.ops.hub.client import HubError, describe

Handler = Callable[[argparse.Namespace], int]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


# --- auth ---
def cmd_auth_status(args: argparse.Namespace) -> int:
    from tracelora.ops.hub.auth import status

    st = status()
    print(st.line())
    return 0 if st.logged_in else 1


def cmd_auth_login(args: argparse.Namespace) -> int:
    from tracelora.ops.hub.auth import login

    if args.token_stdin or not sys.stdin.isatty():
        token = sys.stdin.readline()
    else:
        token = getpass.getpass("Hugging Face token (input hidden): ")
    print(login(token).line())
    return 0


def cmd_auth_logout(args: argparse.Namespace) -> int:
    from tracelora.ops.hub.auth import logout

    print(logout())
    return 0


# --- data and models ---
def cmd_import(args: argparse.Namespace) -> int:
    from tracelora.ops.hub.importer import dvc_add, dvc_guidance, import_dataset

    res = import_dataset(args.source, Path(args.raw_dir), Path(args.quarantine_dir), include=args.include,
                         splits=args.split, revision=args.revision, offline=args.offline, name=args.name, on_retry=_say)
    print(f"== import {res.name} ==")
    for f in res.files:
        print(f"  {f.line()}")
    if res.skipped_files:
        shown = ", ".join(res.skipped_files[:8]) + (" ..." if len(res.skipped_files) > 8 else "")
        print(f"  not converted ({len(res.skipped_files)}): {shown}")
    print(f"  total: {res.converted} records in {len(res.files)} file(s) under {res.out_dir}; "
          f"{res.quarantined} quarantined -> {res.quarantine_file}")
    if args.dvc_add:
        print(f"  {dvc_add(res.out_dir, Path.cwd())}")
    else:
        print("Version the snapshot with DVC:")
        for line in dvc_guidance(res.out_dir):
            print(f"  {line}")
    return 0 if res.converted else 1


def cmd_pull_model(args: argparse.Namespace) -> int:
    from tracelora.ops.hub.models import pull_model

    res = pull_model(args.repo, Path(args.out) if args.out else None, args.revision, args.include, on_retry=_say)
    print(f"pulled {res.repo_id}@{res.revision} ({res.commit[:12]}): {res.files} files -> {res.out}")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"use it as the base model: set `model.base: {res.out.as_posix()}` in params.yaml, then `dvc repro`")
    return 0


def _print_push(res: Any, kind: str) -> None:
    print(f"pushed {kind} to {res.repo_id}: {', '.join(res.files)}")
    if res.url:
        print(f"  commit: {res.url}")
    if res.forced:
        print(f"  WARNING: pushed with --force over: {'; '.join(res.forced)} (recorded in the card)")


def cmd_push_dataset(args: argparse.Namespace) -> int:
    from tracelora.ops.hub.push import push_dataset

    _print_push(push_dataset(args.repo, Path(args.dataset_dir), args.private, args.force, on_retry=_say), "dataset")
    return 0


def cmd_push_adapter(args: argparse.Namespace) -> int:
    from tracelora.common.params import load_params
    from tracelora.ops.hub.push import push_adapter

    base = "embedded"
    if Path(args.params).is_file():
        try:
            base = load_params(args.params).model.base
        except ValueError:
            pass
    res = push_adapter(args.repo, Path(args.adapter_dir), Path(args.metrics_dir), base, args.private, args.force,
                       on_retry=_say)
    _print_push(res, "adapter")
    return 0


# --- jobs ---
def _follow(job_id: str, ns: str | None) -> int:
    from tracelora.ops.hub import jobs

    for line in jobs.logs(job_id, follow=True, ns=ns):
        print(line, flush=True)
    final = jobs.inspect(job_id, ns)
    stage = jobs.job_dict(final)["stage"]
    print(f"job {job_id} finished: {stage}" + (f" ({final.status.message})" if final.status.message else ""))
    return 0 if stage == "COMPLETED" else 1


def _submitted(job: Any, detach: bool, ns: str | None) -> int:
    print(f"job {job.id} submitted ({job.flavor}): {job.url}")
    if detach:
        print(f"  logs: tracelora hub jobs logs {job.id} --follow")
        return 0
    return _follow(job.id, ns)


def _env_pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HubError(f"--env {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def cmd_jobs_run(args: argparse.Namespace) -> int:
    from tracelora.ops.hub import jobs

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    job = jobs.run(args.image, command, args.flavor, _env_pairs(args.env), args.secret, args.timeout, args.namespace,
                   on_retry=_say)
    return _submitted(job, args.detach, args.namespace)


def cmd_jobs_gpu_task(args: argparse.Namespace) -> int:
    from tracelora.ops.hub import jobs

    overrides = jobs.parse_params(args.params, Path(args.params_file))
    command, env = jobs.gpu_task_spec(args.repo_url, args.ref, overrides, args.push_adapter)
    job = jobs.run(args.image, command, args.flavor, env, args.secret, args.timeout, args.namespace, on_retry=_say)
    return _submitted(job, args.detach, args.namespace)


def cmd_jobs_ps(args: argparse.Namespace) -> int:
    from tracelora.ops.hub import jobs

    listed = jobs.ps(args.all, args.namespace)
    if args.json:
        print(json.dumps([jobs.job_dict(j) for j in listed]))
        return 0
    if not listed:
        print("no jobs" if args.all else "no running jobs (-a shows finished ones)")
        return 0
    print(table(["ID", "IMAGE", "COMMAND", "CREATED", "STATUS"], [jobs.job_row(j) for j in listed]))
    return 0


def cmd_jobs_logs(args: argparse.Namespace) -> int:
    from tracelora.ops.hub import jobs

    if args.follow:
        return _follow(args.job_id, args.namespace)
    for line in jobs.logs(args.job_id, follow=False, ns=args.namespace):
        print(line, flush=True)
    return 0


def cmd_jobs_inspect(args: argparse.Namespace) -> int:
    from tracelora.ops.hub import jobs

    print(json.dumps(jobs.job_dict(jobs.inspect(args.job_id, args.namespace)), indent=2))
    return 0


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    from tracelora.ops.hub import jobs

    job = jobs.cancel(args.job_id, args.namespace)
    print(f"job {args.job_id}: {jobs.job_dict(job)['stage']}")
    return 0


def cmd_jobs_hardware(args: argparse.Namespace) -> int:
    from tracelora.ops.hub import jobs

    print(table(["NAME", "PRETTY NAME", "CPU", "RAM", "ACCELERATOR", "COST"], [jobs.hardware_row(h) for h in jobs.hardware()]))
    return 0


# --- parser ---
def _sub(parent: Any, name: str, fn: Handler, help_: str) -> argparse.ArgumentParser:
    p = parent.add_parser(name, help=help_, description=help_)
    p.set_defaults(fn=fn)
    return p


def _job_common(p: argparse.ArgumentParser, gpu: bool = False) -> None:
    p.add_argument("--flavor", default=None if gpu else "cpu-basic", required=gpu,
                   help="hardware flavor (see `jobs hardware`)" + ("" if gpu else "; default cpu-basic"))
    p.add_argument("--secret", action="append", default=[], metavar="NAME",
                   help="also pass this local environment variable as a job secret (HF_TOKEN always is)")
    p.add_argument("--timeout", help="max duration, e.g. 30m, 2h (Jobs API default when unset)")
    p.add_argument("--detach", "-d", action="store_true", help="print the job id and return instead of following logs")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tracelora hub", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    auth = sub.add_parser("auth", help="token status, login, logout", description="Manage the Hugging Face token.")
    auth_sub = auth.add_subparsers(dest="auth_command", required=True, metavar="ACTION")
    _sub(auth_sub, "status", cmd_auth_status, "show who the token belongs to (exit 1 when not logged in)")
    login = _sub(auth_sub, "login", cmd_auth_login, "validate a token and save it in huggingface_hub's store")
    login.add_argument("--token-stdin", action="store_true", help="read the token from stdin (default: hidden prompt)")
    _sub(auth_sub, "logout", cmd_auth_logout, "remove the stored tokens")

    imp = _sub(sub, "import-dataset", cmd_import,
               "convert a Hugging Face dataset (Hub repo, Hub cache, or local dir) into redacted raw traces")
    imp.add_argument("source", metavar="SOURCE",
                     help="dataset repo id OWNER/NAME, or a local dir: a save_to_disk dataset or a dir of "
                          ".jsonl/.json/.parquet/.csv/.arrow files (an existing path wins over a repo id)")
    imp.add_argument("--include", action="append", metavar="PATTERN", help="only files matching this glob (repeatable)")
    imp.add_argument("--split", action="append", metavar="SPLIT", help="only files of this split: train, validation, test (repeatable)")
    imp.add_argument("--revision", help="branch, tag or commit of a repo (default main)")
    imp.add_argument("--offline", action="store_true",
                     help="read the repo from the local Hub cache, no network (also when HF_HUB_OFFLINE is set)")
    imp.add_argument("--name", help="output name under RAW_DIR/hf/ and in `hf:NAME` origins (default: OWNER__NAME, "
                                    "or the local dir's name)")
    imp.add_argument("--raw-dir", default="data/raw_traces", help="trace root (data.raw_dir); output goes to RAW_DIR/hf/NAME/")
    imp.add_argument("--quarantine-dir", default="reports/hub_import", help="where rejected rows are listed (file:row + reason)")
    imp.add_argument("--dvc-add", action="store_true", help="run `dvc add` on the imported snapshot")

    pull = _sub(sub, "pull-model", cmd_pull_model, "download a model repo into a dir `model.base` can point at")
    pull.add_argument("repo", help="model repo id, OWNER/NAME")
    pull.add_argument("--revision", help="branch, tag or commit (default main)")
    pull.add_argument("--out", help="target dir (default models/hub/OWNER__NAME)")
    pull.add_argument("--include", action="append", metavar="PATTERN", help="only files matching this glob (repeatable)")

    pd = _sub(sub, "push-dataset", cmd_push_dataset, "upload train/val with a dataset card built from the manifest")
    pd.add_argument("repo", help="dataset repo id, OWNER/NAME (created if missing)")
    pd.add_argument("--dataset-dir", default="data/dataset", help="build output dir")
    pd.add_argument("--private", action="store_true", help="create the repo private")
    pd.add_argument("--force", action="store_true", help="push even if redaction_ok fails (recorded in the card)")

    pa = _sub(sub, "push-adapter", cmd_push_adapter, "upload the adapter with a model card of eval and gate results")
    pa.add_argument("repo", help="model repo id, OWNER/NAME (created if missing)")
    pa.add_argument("--adapter-dir", default="models/adapter")
    pa.add_argument("--metrics-dir", default="metrics")
    pa.add_argument("--params", default="params.yaml", help="to name the base model in the card")
    pa.add_argument("--private", action="store_true", help="create the repo private")
    pa.add_argument("--force", action="store_true",
                    help="push even if the gate blocked or redaction_ok fails (recorded in the card)")

    jobs = sub.add_parser("jobs", help="Hugging Face Jobs", description="Run and manage Hugging Face Jobs.")
    jobs.add_argument("--namespace", help="user or org that owns the jobs (default: the token's user)")
    jsub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    run = _sub(jsub, "run", cmd_jobs_run, "run IMAGE -- CMD ... as a job")
    run.add_argument("image", help="Docker image, or hf.co/spaces/OWNER/NAME")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment variable (repeatable)")
    _job_common(run)
    gpu = _sub(jsub, "run-gpu-task", cmd_jobs_gpu_task, "clone a repo at a ref and run `dvc repro` remotely")
    gpu.add_argument("--repo-url", required=True, help="git URL of this project")
    gpu.add_argument("--ref", required=True, help="branch, tag or commit to check out")
    gpu.add_argument("--params", nargs="*", default=[], metavar="KEY=VALUE", help="params.yaml overrides, e.g. train.lora_r=32")
    gpu.add_argument("--params-file", default="params.yaml", help="local params.yaml the overrides are validated against")
    gpu.add_argument("--image", default=None, help="Docker image (default: a CUDA PyTorch image)")
    gpu.add_argument("--push-adapter", metavar="OWNER/NAME", help="push the adapter from the job when done")
    _job_common(gpu, gpu=True)
    ps = _sub(jsub, "ps", cmd_jobs_ps, "list running jobs")
    ps.add_argument("-a", "--all", action="store_true", help="include finished jobs")
    ps.add_argument("--json", action="store_true", help="print a JSON list (what the TUI reads)")
    logs = _sub(jsub, "logs", cmd_jobs_logs, "print a job's logs")
    logs.add_argument("job_id")
    logs.add_argument("-f", "--follow", action="store_true", help="stream until the job ends; exit 1 unless it completed")
    insp = _sub(jsub, "inspect", cmd_jobs_inspect, "print a job's details as JSON")
    insp.add_argument("job_id")
    canc = _sub(jsub, "cancel", cmd_jobs_cancel, "cancel a job")
    canc.add_argument("job_id")
    _sub(jsub, "hardware", cmd_jobs_hardware, "list the hardware flavors and their prices")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "image", "") is None:
        from tracelora.ops.hub.jobs import GPU_IMAGE

        args.image = GPU_IMAGE
    for sub_ns in ("namespace",):
        if not hasattr(args, sub_ns):
            setattr(args, sub_ns, None)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except HubError as exc:
        print(f"error: {describe(exc)}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # noqa: BLE001 - every failure is one line, never a traceback
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 1
