"""Build-stage throughput: records/s and MB/s over a synthetic corpus of N copies of the sample traces.

    python bench/bench_build.py [--copies 20]

Each copy gets a unique marker so dedup keeps it; prints records/s, MB/s and peak RSS.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stages import build  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20)
    args = ap.parse_args()
    rows = [line for p in sorted((ROOT / "data/raw_traces").glob("*.jsonl")) for line in p.read_bytes().splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        raw.mkdir()
        with open(raw / "corpus.jsonl", "wb") as fh:
            for c in range(args.copies):
                for line in rows:
                    try:
                        obj = json.loads(line)
                        if isinstance(obj, dict) and isinstance(obj.get("messages"), list) and obj["messages"]:
                            first = obj["messages"][0]
                            if isinstance(first, dict) and isinstance(first.get("content"), str):
                                first["content"] += f" (copy {c})"
                        line = json.dumps(obj).encode()
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        pass
                    fh.write(line + b"\n")
        size = (raw / "corpus.jsonl").stat().st_size
        (Path(tmp) / "params.yaml").write_text((ROOT / "params.yaml").read_text())
        t = time.perf_counter()
        build.main(["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", f"{tmp}/out",
                    "--metrics", f"{tmp}/m.json", "--params", f"{tmp}/params.yaml"])
        dt = time.perf_counter() - t
        read = json.loads(Path(f"{tmp}/m.json").read_text())["read"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nbuild: {read} records, {size / 2**20:.1f} MB in {dt:.2f} s -> "
          f"{read / dt:.0f} records/s, {size / 2**20 / dt:.2f} MB/s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
