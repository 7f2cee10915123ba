"""The few git and DVC calls snapshots need, as subprocesses (both tools' CLIs are the stable API).

`commit_and_tag` is the only writer: it builds the snapshot commit off to the side (a private index,
`git commit-tree`) and then moves the branch and creates the tag in ONE `git update-ref --stdin`
transaction, so an interruption leaves either nothing or a complete, tagged snapshot.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


class GitError(RuntimeError):
    """A git/DVC command failed; the message is the tool's own last line, never a traceback."""


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("DVC_NO_ANALYTICS", "1")
    try:
        proc = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, input=input_text)
    except FileNotFoundError:
        raise GitError(f"{args[0]}: command not found") from None
    if check and proc.returncode != 0:
        raise GitError(f"`{' '.join(args[:3])}` failed: {_last_line(proc.stderr) or _last_line(proc.stdout)}")
    return proc


def git(root: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
        input_text: str | None = None) -> str:
    return run(["git", *args], root, env=env, check=check, input_text=input_text).stdout


def dvc(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """DVC of this interpreter's environment, whatever PATH says (cron jobs have a bare PATH)."""
    return run([sys.executable, "-m", "dvc", *args], root, check=check)


def repo_root(start: Path) -> Path:
    return Path(git(start, "rev-parse", "--show-toplevel").strip())


def head(root: Path) -> str | None:
    proc = run(["git", "rev-parse", "--verify", "-q", "HEAD"], root, check=False)
    return proc.stdout.strip() or None


def current_branch(root: Path) -> str | None:
    name = git(root, "symbolic-ref", "-q", "--short", "HEAD", check=False).strip()
    return name or None


def show(root: Path, rev: str, path: str) -> str | None:
    """A file's text at a revision, or None when it is not there."""
    proc = run(["git", "show", f"{rev}:{path}"], root, check=False)
    return proc.stdout if proc.returncode == 0 else None


def tags(root: Path, pattern: str) -> list[str]:
    out = git(root, "tag", "--list", pattern, "--sort=creatordate")
    return [t for t in out.splitlines() if t]


def commit_date(root: Path, rev: str) -> str:
    return git(root, "log", "-1", "--format=%cI", rev).strip()


def commit_and_tag(root: Path, paths: list[str], message: str, tag: str) -> str:
    """Commit `paths` (as they are in the working tree) on top of HEAD and tag the commit, atomically.

    Other staged or unstaged work of the user is left exactly as it was."""
    parent = head(root)
    branch = current_branch(root)
    if branch is None:
        raise GitError("HEAD is detached: check out a branch before making a snapshot")
    with tempfile.TemporaryDirectory(prefix="snapshot-index-") as tmp:
        index_env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if parent:
            git(root, "read-tree", parent, env=index_env)
        existing = [p for p in paths if (root / p).exists()]
        if existing:
            git(root, "add", "-f", "--", *existing, env=index_env)
        tree = git(root, "write-tree", env=index_env).strip()
    if parent and tree == git(root, "rev-parse", f"{parent}^{{tree}}").strip():
        commit = parent  # nothing changed since the last commit: tag it as it is
    else:
        args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
        commit = git(root, *args).strip()
    ref = f"refs/heads/{branch}"
    old = parent or "0" * 40
    txn = f"start\nupdate {ref} {commit} {old}\ncreate refs/tags/{tag} {commit}\nprepare\ncommit\n"
    git(root, "update-ref", "--stdin", input_text=txn)
    if existing and commit != parent:
        # the branch moved under the real index: bring only these paths' index entries up to date
        git(root, "reset", "-q", "--", *existing)
    return commit


def dvc_busy(root: Path) -> str | None:
    """Who holds this repo's DVC lock, or None: `pid N (dvc repro)` when another DVC operation is running.
    DVC's repo lock (`.dvc/tmp/lock`) is a zc.lockfile: an flock held by the running process, whose pid
    is written inside; `.dvc/tmp/rwlock` lists the pids and commands holding stage locks."""
    import fcntl
    import json

    tmp = root / ".dvc" / "tmp"
    lock = tmp / "lock"
    if lock.is_file():
        try:
            with open(lock, "r+") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pid = (fh.read().split() or ["?"])[0]
                    return f"pid {pid}"
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        except OSError:
            pass
    try:
        rw = json.loads((tmp / "rwlock").read_text())
    except (OSError, ValueError):
        return None
    holders = list((rw.get("write") or {}).values())
    holders += [h for group in (rw.get("read") or {}).values() for h in (group if isinstance(group, list) else [group])]
    from tracelora.common.io import pid_alive

    for h in holders:
        if isinstance(h, dict) and isinstance(h.get("pid"), int) and pid_alive(h["pid"]) and h["pid"] != os.getpid():
            return f"pid {h['pid']} ({str(h.get('cmd') or 'dvc').strip()[:60]})"
    return None


def busy_message(holder: str) -> str:
    return f"another DVC operation is running ({holder}); try again when it ends"
