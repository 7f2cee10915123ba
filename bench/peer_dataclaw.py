"""Peer figures: DataClaw (github.com/peteromallet/dataclaw) exporting a Claude Code projects directory.

    /tmp/peer-venv/bin/python bench/peer_dataclaw.py --projects <dir> [--names a,b,c] [--redact-names] [--workers 1]

Runs DataClaw's own local export, `dataclaw._cli.exporting.export_to_jsonl` (what `dataclaw export
--no-push` calls: discover_projects -> parse every `<slug>/*.jsonl` and `<slug>/<uuid>/subagents/agent-*.jsonl`
-> skip sessions without a model or with model "<synthetic>" -> `secrets.transform_session` (username
hashing + secret regexes) -> one JSONL record per session) into a temp file; nothing is pushed. DataClaw
reads `Path.home()/.claude/projects` only, so the run uses a temp $HOME whose `.claude/projects` is a
symlink to --projects (this also keeps the user's ~/.dataclaw/config.json out of it). Its default
anonymizer only knows the OS user name (basename of $HOME, here "dataclawpeer"); --redact-names also
hands --names to it as `redact_usernames` (`dataclaw config --redact-usernames a,b,c`).

Prints one JSON line:
  sessions        sessions DataClaw discovers (root files + sub-agent session dirs)
  records         records it writes (one per session it keeps)
  assistant_chars over every output message with role "assistant": len(content) + for each entry of
                  its `tool_uses` ({"tool": name, "input": args, ...}) len(tool) +
                  len(json.dumps(input, ensure_ascii=False)); thinking and tool outputs excluded.
                  DataClaw keeps every line of the file (no parentUuid branch selection), so one
                  Claude response split over several lines is several assistant messages.
  tool_calls      entries of `tool_uses` in assistant messages
  seconds         wall time of export_to_jsonl; mb_per_s = input bytes (DataClaw's total_size_bytes) / seconds
  names_left      whole-token (not next to [A-Za-z0-9]), case-insensitive hits of --names in the written file
  peak_rss_mb     max resident set of this process (and of worker processes, if --workers > 1)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any


def assistant_volume(record: dict[str, Any]) -> tuple[int, int]:
    """(assistant characters, tool calls) of one DataClaw session record."""
    chars = calls = 0
    for msg in record.get("messages", []):
        if msg.get("role") != "assistant":
            continue
        chars += len(msg.get("content") or "")
        for use in msg.get("tool_uses", []):
            calls += 1
            chars += len(use.get("tool") or "") + len(json.dumps(use.get("input", {}), ensure_ascii=False))
    return chars, calls


def redaction_recall() -> None:
    """DataClaw's recursive value transform (`secrets._transform_value`: every string value, dict keys
    left as they are, tool arguments as the JSON text they are in our records) on the same hard cases
    tracelora is measured on; prints one JSON line of recall per class."""
    from collections import Counter

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from dataclaw.secrets import _transform_value
    from redaction_hard_corpus import hard_cases, survives

    total, caught = Counter(), Counter()
    for case in hard_cases(seed=1, per_class=200):
        red, _, _ = _transform_value(case.record)
        total[case.cls] += 1
        caught[case.cls] += not any(survives(red, secret) for secret in case.secrets)
    recall = {c: round(caught[c] / total[c], 3) for c in sorted(total)}
    print(json.dumps({"peer": "dataclaw", "version": version("dataclaw"), "recall": recall,
                      "overall": round(sum(caught.values()) / sum(total.values()), 3)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--projects", type=Path, help="a Claude Code projects dir (<slug>/<uuid>.jsonl)")
    ap.add_argument("--redaction", action="store_true",
                    help="instead: DataClaw's value redaction on tests/redaction_hard_corpus.py (recall per class)")
    ap.add_argument("--names", default="", help="comma-separated user names to look for in the output")
    ap.add_argument("--redact-names", action="store_true", help="also give --names to DataClaw as redact_usernames")
    ap.add_argument("--workers", type=int, default=1, help="DataClaw export workers (its CLI default: cpu count)")
    args = ap.parse_args()
    if args.redaction:
        redaction_recall()
        return
    if args.projects is None:
        ap.error("--projects is required")
    names = [n.strip() for n in args.names.split(",") if n.strip()]

    with tempfile.TemporaryDirectory(prefix="peer-dataclaw-") as tmp:
        home = Path(tmp) / "dataclawpeer"  # its anonymizer hashes this basename as "the user": keep it out of the text
        (home / ".claude").mkdir(parents=True)
        (home / ".claude" / "projects").symlink_to(args.projects.resolve(), target_is_directory=True)
        os.environ["HOME"] = str(home)  # before the import: DataClaw binds Path.home() at import time
        from dataclaw._cli.exporting import export_to_jsonl
        from dataclaw.anonymizer import Anonymizer
        from dataclaw.parser import discover_projects, iter_project_sessions

        out = Path(tmp) / "dataclaw_conversations.jsonl"
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # its progress lines; our stdout is the one JSON line
            projects = [p for p in discover_projects() if p["source"] == "claude"]
            anonymizer = Anonymizer(extra_usernames=names if args.redact_names else None)
            export_to_jsonl(projects, out, anonymizer, iter_project_sessions, "claude",
                            include_thinking=True, workers=args.workers)
        seconds = time.perf_counter() - t0

        text = out.read_text(encoding="utf-8")
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        volume = [assistant_volume(r) for r in records]
        names_left = 0
        if names:
            token = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9])", re.I)
            names_left = len(token.findall(text))
        in_bytes = sum(p["total_size_bytes"] for p in projects)

    rss_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({
        "peer": "dataclaw",
        "version": version("dataclaw"),
        "sessions": sum(p["session_count"] for p in projects),
        "records": len(records),
        "assistant_chars": sum(c for c, _ in volume),
        "tool_calls": sum(n for _, n in volume),
        "seconds": round(seconds, 3),
        "mb_per_s": round(in_bytes / 2**20 / seconds, 2) if seconds > 0 else None,
        "names_left": names_left,
        "peak_rss_mb": round(rss_kb / 1024, 1),
        "names_given_to_peer": bool(args.redact_names and names),
    }))


if __name__ == "__main__":
    main()
