"""Command line for the ingest step: dry-run listing, or convert and write, with a summary."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tracelora.common.log import summary
from tracelora.ops.ingest import ADAPTERS, REMOVED
from tracelora.ops.ingest.model import IngestError, iso
from tracelora.ops.ingest.run import plan, read, report_of, write


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="tracelora ingest", description=__doc__)
    ap.add_argument("--from", dest="source", required=True, choices=[*ADAPTERS, "auto", *REMOVED],
                    metavar="{" + ",".join([*ADAPTERS, "auto"]) + "}",
                    help="session format, or auto (detect each file by content)")
    ap.add_argument("--path", action="append", default=[],
                    help="file, directory or database to read (repeatable); default: the agent's own "
                         "data directory")
    ap.add_argument("--since", help="only sessions active on or after this date/time (ISO 8601, e.g. 2026-05-01)")
    ap.add_argument("--out", default="data/raw_traces", help="output root; files go to <out>/<source>/")
    ap.add_argument("--dry-run", action="store_true", help="list what would be read; write nothing")
    ap.add_argument("--drop-system-prompt", action="store_true",
                    help="leave recorded system prompts (OpenClaw trajectories, Codex instructions) out")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.source in REMOVED:
        print(f"error: --from {args.source} was removed: {REMOVED[args.source]}", file=sys.stderr)
        return 2
    since = None
    if args.since:
        since = iso(args.since)
        if since is None:
            print(f"error: --since {args.since!r}: not an ISO 8601 date", file=sys.stderr)
            return 2
    try:
        runs = plan(args.source, args.path)
    except IngestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not any(r.units for r in runs):
        where = ", ".join(args.path) or "the default locations"
        print(f"nothing to ingest: no {args.source} sessions found in {where}")
        return 0
    errors = 0
    for run in runs:
        read(run, since, args.drop_system_prompt)
        report = report_of(run, since) if args.dry_run else write(run, Path(args.out), since)
        errors += report["totals"]["errors"]
        if args.dry_run:
            print(f"\n{run.name}: would read {len(run.units)} unit(s)")
            for u in report["units"]:
                state = f"ERROR {u['error']}" if "error" in u else (
                    f"{u['sessions']} sessions, {u['rows']} rows, {u['records']} records")
                print(f"  {u['unit']}: {state}")
        t = report["totals"]
        rows = {
            "units": f"{len(run.units)} ({t['errors']} failed)",
            "sessions": t["sessions"],
            "records": t["records"],
            "rows": f"{t['rows']} = kept {t['kept']} + skipped {t['skipped']} + quarantined {t['quarantined']}",
            "skipped": report["skipped_by_reason"] or "-",
            "quarantined": report["quarantined_by_reason"] or "-",
            "redactions": report["redactions_by_rule"] or "-",
            "accounting": "balanced" if report["balanced"] else "UNBALANCED",
        }
        if args.dry_run:
            rows["written"] = "nothing (dry run)"
        else:
            rows["written"] = (f"{report['files']['written']} files, {report['files']['unchanged']} unchanged, "
                               f"report {Path(args.out) / run.name / '_ingest_report.json'}")
        summary(f"ingest {run.name}", rows)
    return 1 if errors else 0
