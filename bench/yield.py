"""Yield benchmark: how much of real-shaped sessions reaches train/val (not a timed test).

    python bench/yield.py                          # 300 Claude Code sessions (tests/real_shaped.py), seed 7
    python bench/yield.py --sessions 1000 --peer-python /tmp/peer-venv/bin/python

Generates a Claude Code store shaped like published sessions (long, branching, parallel tool calls,
200k-character tool outputs, chains through attachment/progress/system lines, sessions cut mid-tool,
user names in paths), then runs `tracelora ingest --from claude-code` and `tracelora build` (no
synthetic/adversarial mix) in a child process, and prints:
- the build's yield block (share of the assistant text / tool calls of kept-outcome sessions);
- the independent count: generator markers and tool calls found in train/val vs the ground truth;
- the shape of what was written (records per session, tool characters elided by the cap);
- user names left anywhere under the written data (must be 0);
- ingest and build MB/s and peak RSS.
With `--peer-python`, the same store goes through DataClaw (bench/peer_dataclaw.py) for a side by side.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

MARKER = re.compile(r"\[s\d+\.(?:\d+|sub\d)\]")


def child(store: Path, work: Path) -> None:
    """Ingest + build in this process; prints one JSON line."""
    from tracelora.ops.ingest.cli import main as ingest_main
    from tracelora.stages import build

    t0 = time.perf_counter()
    assert ingest_main(["--from", "claude-code", "--path", str(store / "projects"), "--out", str(work / "raw")]) in (0, 1)
    t1 = time.perf_counter()
    rss_ingest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (work / "params.yaml").write_text("data: {min_examples: 1, synthetic_ratio: 0, adversarial_ratio: 0, cache_dir: ''}\n")
    assert build.main(["--raw", str(work / "raw"), "--seeds", str(ROOT / "data/seeds"), "--out", str(work / "ds"),
                       "--metrics", str(work / "metrics.json"), "--params", str(work / "params.yaml")]) == 0
    t2 = time.perf_counter()
    raw_bytes = sum(p.stat().st_size for p in (work / "raw").rglob("*.jsonl"))
    print(json.dumps({"ingest_s": t1 - t0, "build_s": t2 - t1, "raw_bytes": raw_bytes, "rss_ingest_mb": rss_ingest,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--peer-python", help="a Python with DataClaw installed (runs bench/peer_dataclaw.py)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    from real_shaped import percentiles, write_claude_store

    tmp = Path(tempfile.mkdtemp(prefix="yield-"))
    try:
        store, work = tmp / "store", tmp / "work"
        truth = write_claude_store(store, args.sessions, seed=args.seed)
        print(f"store: {truth.sessions} sessions ({truth.kept_sessions} with a kept outcome) in {truth.files} files, "
              f"{truth.bytes / 2**20:.1f} MB; messages p10/p50/p90/max {percentiles(truth.messages_per_session)}, "
              f"characters {percentiles(truth.chars_per_session)}, tool results {percentiles(truth.tool_result_chars)}")
        out = subprocess.run([sys.executable, __file__, "--child", str(store), str(work)], check=True,
                             capture_output=True, text=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        manifest = json.loads((work / "ds/dataset_manifest.json").read_text())
        rows = [json.loads(line) for s in ("train", "val") for line in (work / f"ds/{s}.jsonl").read_text().splitlines()]
        found = {m for r in rows for msg in r["messages"] if msg["role"] == "assistant" for m in MARKER.findall(msg["content"])}
        calls = sum(len(m.get("tool_calls", ())) for r in rows for m in r["messages"])
        written = sum(len(m["content"]) + sum(len(c["function"]["name"]) + len(c["function"]["arguments"])
                                              for c in m.get("tool_calls", ()))
                      for r in rows for m in r["messages"] if m["role"] == "assistant")
        starts = sum(1 for r in rows if next(m for m in r["messages"] if m["role"] != "system")["role"] == "user")
        token = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, truth.names)) + r")(?![A-Za-z0-9])", re.I)
        names_left = sum(len(token.findall(p.read_text(encoding="utf-8"))) for p in work.rglob("*") if p.is_file())
        names_left += sum(1 for p in work.rglob("*") if token.search(p.name))
        y = manifest["yield"]
        print("\n== tracelora (ingest --from claude-code + build, default params, no synthetic mix) ==")
        for name, label in (("assistant_chars", "assistant text"), ("tool_calls", "tool calls")):
            b = y[name]
            print(f"  {label:15s} {b['share_of_kept_outcomes']:.1%} of kept-outcome sessions ({b['share']:.1%} of all read); "
                  f"lost {b['lost_by_reason'] or '-'}")
        tool = y["tool_result_chars"]
        print(f"  independent    markers {len(found & truth.markers)}/{len(truth.markers)} "
              f"({len(found & truth.markers) / len(truth.markers):.1%}), tool calls {calls}/{truth.tool_calls} "
              f"({calls / truth.tool_calls:.1%}), assistant characters {written / truth.assistant_chars:.1%} of the truth")
        print(f"  records        {len(rows)} in train/val from {truth.sessions} sessions; {starts}/{len(rows)} start at a user turn")
        print(f"  tool output    {tool['read'] / 2**20:.1f} MB read, {tool['elided_by_cap'] / 2**20:.1f} MB elided by the cap, "
              f"{tool['trimmed_after_last_assistant_turn'] / 2**10:.0f} KB trimmed after the last assistant turn")
        print(f"  user names     {names_left} left in {sum(1 for _ in work.rglob('*'))} written paths (of {len(truth.names)} planted)")
        print(f"  speed          ingest {truth.bytes / 2**20 / res['ingest_s']:.1f} MB/s ({res['ingest_s']:.1f} s), "
              f"build {res['raw_bytes'] / 2**20 / res['build_s']:.1f} MB/s ({res['build_s']:.1f} s), peak RSS {res['rss_mb']:.0f} MB")
        if args.peer_python:
            runs = {}
            for mode, extra in (("default", []), ("names given", ["--redact-names"])):
                peer = subprocess.run([args.peer_python, str(ROOT / "bench/peer_dataclaw.py"), "--projects", str(store / "projects"),
                                       "--names", ",".join(sorted(truth.names)), *extra], check=True, capture_output=True, text=True)
                runs[mode] = json.loads(peer.stdout.strip().splitlines()[-1])
            p = runs["default"]
            print(f"\n== {p['peer']} {p.get('version', '')} (same store; exports every line, no branch selection, no filter) ==")
            print(f"  assistant text {p['assistant_chars'] / truth.assistant_chars:.1%} of the truth's characters "
                  f"(includes interrupted sessions and abandoned branches), tool calls {p['tool_calls']}/{truth.tool_calls}")
            print(f"  records        {p['records']} from {p['sessions']} sessions")
            print(f"  user names     {p['names_left']} left by default, {runs['names given']['names_left']} when the names are configured")
            print(f"  speed          {p['mb_per_s']:.1f} MB/s ({p['seconds']:.1f} s), peak RSS {p['peak_rss_mb']:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
