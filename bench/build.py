"""Build-stage benchmark on a synthetic corpus of realistic agent traces (not a timed test).

    python bench/build.py                    # 500 MB corpus in 100 daily files (generated once into --corpus)
    python bench/build.py --mb 50            # a quicker run
    python bench/build.py --redaction-only   # per-class recall / false-positive table of the redaction corpus

Reports, each build in a fresh child process (so peak RSS is per build):
- full build, 1 process, cold cache: MB/s and records/s end to end and per part (parse, redact, filter,
  dedup, write; CPU seconds summed over workers), peak RSS;
- full build, 2 processes, cold cache: wall time and speed-up;
- incremental: one new daily file (1% of the corpus) added to a warm cache, vs the full build;
- reference build (stdlib `re` over the same rule table, one rule at a time, and the pure-Python
  MinHash) on the first `--ref-fraction` of the files, against the fast build on the same files; the
  two must write byte-identical outputs.

The corpus: sessions with tool calls, file contents, logs and stack traces; ~3% hold a planted
credential or PII, ~30% mention a home directory, ~4% are near-copies, ~1% exact copies, ~0.2% bad lines.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
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

WORDS = ("def return self import from class value result error request response config path data items index "
         "user token cache parse load save build test assert raise except async await yield lambda none true "
         "false json yaml http client server handler router model schema field query filter sort limit offset "
         "session commit branch merge deploy docker image volume network retry timeout logger debug info warn").split()


def _code_block(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(20, 90)):
        indent = "    " * rng.randint(0, 3)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))
        lines.append(f"{indent}{words}({rng.choice(WORDS)}_{rng.randint(0, 99)})")
    return "\n".join(lines)


def _log_block(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(5, 40)):
        out.append(f"2026-0{rng.randint(1, 9)}-{rng.randint(10, 28)}T{rng.randint(10, 23)}:{rng.randint(10, 59)}:00Z "
                   f"{rng.choice(['INFO', 'WARN', 'DEBUG'])} {rng.choice(WORDS)}.{rng.choice(WORDS)} "
                   f"id={rng.getrandbits(64):016x} took {rng.random() * 100:.1f}ms")
    return "\n".join(out)


class Corpus:
    """Generates daily JSONL files of agent sessions; deterministic per seed."""

    def __init__(self, seed: int = 0) -> None:
        from redaction_corpus import CONTEXTS, GENERATORS
        self.rng = random.Random(seed)
        self.blocks = [_code_block(self.rng) for _ in range(400)] + [_log_block(self.rng) for _ in range(200)]
        self.gen, self.ctx = GENERATORS, CONTEXTS
        self.recent: list[str] = []

    def session(self, n: int) -> str:
        r = self.rng
        if self.recent and r.random() < 0.01:
            return r.choice(self.recent)  # exact copy (a re-exported session)
        if self.recent and r.random() < 0.04:  # near copy: the same session with a word changed
            row = json.loads(r.choice(self.recent))
            row["messages"][0]["content"] += f" (retry {r.randint(1, 9)})"
            return json.dumps(row)
        user = r.choice(["alice", "bob", "maria", "wei", "sven"])
        path = f"/home/{user}/src/{r.choice(WORDS)}" if r.random() < 0.3 else f"src/{r.choice(WORDS)}"
        msgs = [{"role": "system", "content": "You are a coding agent. Use tools."},
                {"role": "user", "content": f"Session {n}: fix the {r.choice(WORDS)} {r.choice(WORDS)} in {path}/{r.choice(WORDS)}.py"}]
        for t in range(r.randint(1, 3)):
            cmd = r.choice([f"cat {path}/{r.choice(WORDS)}.py", f"pytest -q tests/test_{r.choice(WORDS)}.py", "git status", f"grep -rn {r.choice(WORDS)} ."])
            result = r.choice(self.blocks)[: r.randint(500, 3500)]
            if r.random() < 0.03:
                cls = r.choice(sorted(self.gen))
                result += "\n" + r.choice(self.ctx[cls]).format(v=self.gen[cls](r), k="A" * 16)
            msgs.append({"role": "assistant", "content": f"Let me look at step {t}.", "tool_calls": [
                {"id": f"call_{t}", "type": "function", "function": {"name": "bash", "arguments": json.dumps({"command": cmd})}}]})
            msgs.append({"role": "tool", "tool_call_id": f"call_{t}", "name": "bash", "content": result})
        msgs.append({"role": "assistant", "content": f"Fixed: {' '.join(r.choice(WORDS) for _ in range(r.randint(8, 40)))}."})
        line = json.dumps({"messages": msgs, "source": "opencode", "task_category": r.choice(["bugfix", "feature", "ops"]),
                           "outcome": r.choice(["success"] * 9 + ["failure"])})
        self.recent = (self.recent + [line])[-200:]
        return line

    def write_day(self, path: Path, target_bytes: int, start: int) -> int:
        n, size = start, 0
        with open(path, "w", encoding="utf-8") as fh:
            while size < target_bytes:
                line = self.session(n) if self.rng.random() > 0.002 else '{"messages": [truncated'
                fh.write(line + "\n")
                size += len(line) + 1
                n += 1
        return n


def make_corpus(dest: Path, mb: int, files: int, seed: int = 0) -> Path:
    marker = dest / f".complete-{mb}-{files}-{seed}"
    if marker.exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "raw").mkdir(parents=True)
    corpus = Corpus(seed)
    n = 0
    t = time.perf_counter()
    for d in range(files + 1):  # the extra day is the 1% increment
        target = dest / ("raw" if d < files else "") / f"day-{d:04d}.jsonl"
        n = corpus.write_day(target, mb * 2**20 // files, n)
    marker.write_text("")
    print(f"corpus: {mb} MB in {files} files (+1 increment) generated in {time.perf_counter() - t:.0f} s -> {dest}")
    return dest


def child(args: argparse.Namespace) -> None:
    """One build in this process; prints a JSON line with the report and peak RSS."""
    from tracelora.common.params import load_params
    from tracelora.common.paths import project_root
    from tracelora.dataset.build import build_dataset
    if args.reference:
        from tracelora.cleaning import near_dedup, redaction
        from tracelora.dataset import pipeline as dataset
        redaction._re2 = None  # the rule table on stdlib `re`, every rule run on every string
        redaction._ENGINES.clear()
        import numpy as np

        def ref_signatures(texts, cfg):  # the pure-Python MinHash, one record at a time
            nb = cfg.bands[0]
            rows = [near_dedup.signature_reference(t, cfg) for t in texts]
            keys = np.array([k for k, _ in rows], dtype=np.uint64).reshape(len(rows), nb)
            return keys, np.array([ok for _, ok in rows], dtype=bool)
        dataset.signatures = ref_signatures
    params = load_params(args.params).data
    t = time.perf_counter()
    rep = build_dataset(Path(args.raw), ROOT / "data/seeds", Path(args.out), Path(args.out) / "metrics.json", params,
                        project_root(args.params))
    wall = time.perf_counter() - t
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = max(me.ru_maxrss, kids.ru_maxrss)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print("BENCH " + json.dumps({"wall": wall, "cpu": cpu, "rss_mb": rss / 1024, "bytes_in": rep.bytes_in, "bytes_computed": rep.bytes_computed,
                                 "chunks": rep.chunks, "cached": rep.chunks_cached, "timings": rep.timings, "phases": rep.phases, "rss_phases": rep.rss_mb,
                                 "read": rep.counts["read"], "kept": rep.counts["kept"], "counts": rep.counts}))


def run_child(raw: Path, out: Path, params: Path, reference: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--_child", "--raw", str(raw), "--out", str(out), "--params", str(params)]
    if reference:
        cmd.append("--reference")
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(line[6:])


def same_files(a: Path, b: Path, names: tuple[str, ...]) -> bool:
    """Compare by digest, streaming: reading 300 MB outputs into this process would raise the peak
    RSS that every later child inherits (ru_maxrss survives fork + exec)."""
    def digest(p: Path) -> str:
        with open(p, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    return all(digest(a / n) == digest(b / n) for n in names)


def write_params(path: Path, cache: str, num_proc: int) -> Path:
    text = (ROOT / "params.yaml").read_text()
    import yaml
    p = yaml.safe_load(text)
    p["data"].update({"cache_dir": cache, "num_proc": num_proc, "golden_dir": ""})
    path.write_text(yaml.safe_dump(p))
    return path


def fmt(res: dict, label: str) -> str:
    mb = res["bytes_in"] / 2**20
    return (f"{label}: {mb:.0f} MB, {res['read']} records in {res['wall']:.1f} s -> {mb / res['wall']:.1f} MB/s, "
            f"{res['read'] / res['wall']:.0f} records/s, peak RSS {res['rss_mb']:.0f} MB; CPU {res['cpu']:.1f} s "
            f"-> {mb / res['cpu']:.1f} MB per CPU-second")


def parts(res: dict) -> list[str]:
    mb = res["bytes_in"] / 2**20
    out = []
    for part in ("parse", "redact", "filter", "dedup", "write"):
        s = res["timings"].get(part, 0.0)
        out.append(f"  {part:<7} {s:7.1f} s  {mb / s if s else float('inf'):8.1f} MB/s  {res['read'] / s if s else float('inf'):9.0f} records/s")
    return out


def redaction_report() -> None:
    from test_redaction_corpus import recall_by_class
    from redaction_corpus import negatives
    from tracelora.cleaning.redaction import Redactor
    rec = recall_by_class("auto", per_class=200)
    negs = list(negatives(seed=0, n=5000))
    fp = sum(Redactor().text(t) != t for t in negs)
    print("| class | recall |\n|---|---|")
    for cls, r in sorted(rec.items()):
        print(f"| {cls} | {r:.3f} |")
    print(f"\nhard negatives changed: {fp}/{len(negs)} (false-positive rate {fp / len(negs):.4f})")
    from test_redaction_hard import HARD_NEGATIVES, recall as hard_recall
    hard = hard_recall("auto", per_class=200)
    print("\nsecrets in harder places (tests/redaction_hard_corpus.py, anywhere in a record):\n| class | recall |\n|---|---|")
    for cls, r in sorted(hard.items()):
        print(f"| {cls} | {r:.3f} |")
    hfp = sum(Redactor().text(t) != t for t in HARD_NEGATIVES)
    print(f"\nnew hard negatives changed: {hfp}/{len(HARD_NEGATIVES)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=500, help="corpus size in MB (default 500)")
    ap.add_argument("--files", type=int, default=100, help="daily files; one more is the 1%% increment")
    ap.add_argument("--corpus", default="/tmp/bench-build-corpus", help="where the corpus is generated (reused)")
    ap.add_argument("--ref-fraction", type=float, default=0.1, help="share of the files the reference build reads")
    ap.add_argument("--skip", default="", help="comma list of runs to skip: proc2,incremental,reference")
    ap.add_argument("--redaction-only", action="store_true")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--raw", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        return child(args)
    if args.redaction_only:
        return redaction_report()
    skip = set(filter(None, args.skip.split(",")))
    corpus = make_corpus(Path(args.corpus), args.mb, args.files)
    raw = corpus / "raw"
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (shared machine: figures are contended)")
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp_s:
        tmp = Path(tmp_s)
        p1 = write_params(tmp / "p1.yaml", "cache1", 1)
        full = run_child(raw, tmp / "out1", p1)
        print(fmt(full, "full build, 1 process, cold cache"))
        print("\n".join(parts(full)))
        print(f"  phases (wall s): {json.dumps({k: round(v, 2) for k, v in full['phases'].items()})}")
        if "proc2" not in skip:
            p2 = write_params(tmp / "p2.yaml", "", 2)
            two = run_child(raw, tmp / "out2", p2)
            print(fmt(two, "full build, 2 processes, no cache") + f"  (speed-up {full['wall'] / two['wall']:.2f}x)")
            same = same_files(tmp / "out1", tmp / "out2", ("train.jsonl", "val.jsonl"))
            print(f"  outputs identical to 1 process: {same}")
        if "incremental" not in skip:
            inc_file = next(corpus.glob("day-*.jsonl"))
            shutil.copy(inc_file, raw / inc_file.name)
            try:
                inc = run_child(raw, tmp / "out3", p1)
            finally:
                (raw / inc_file.name).unlink()
            print(fmt(inc, "incremental (+1 daily file, warm cache)") +
                  f"  -> {inc['wall'] / full['wall'] * 100:.1f}% of the full build; {inc['bytes_computed'] / 2**20:.1f} MB processed, "
                  f"{inc['cached']}/{inc['chunks']} chunks from cache; phases {json.dumps({k: round(v, 2) for k, v in inc['phases'].items()})}"
                  f", RSS after phases {json.dumps({k: round(v) for k, v in inc['rss_phases'].items()})}")
        if "reference" not in skip:
            files = sorted(raw.glob("*.jsonl"))
            sub = tmp / "sub"
            sub.mkdir()
            for f in files[: max(1, int(len(files) * args.ref_fraction))]:
                os.symlink(f, sub / f.name)
            pn = write_params(tmp / "pn.yaml", "", 1)
            fast = run_child(sub, tmp / "out_fast", pn)
            ref = run_child(sub, tmp / "out_ref", pn, reference=True)
            same = same_files(tmp / "out_fast", tmp / "out_ref", ("train.jsonl", "val.jsonl", "quarantine.jsonl"))
            print(fmt(fast, "fast build on the reference subset"))
            print(fmt(ref, "reference build (stdlib re, pure-Python MinHash)"))
            print("\n".join(parts(ref)))
            print(f"  ratio fast/reference: {ref['wall'] / fast['wall']:.1f}x end to end; outputs byte-identical: {same}")


if __name__ == "__main__":
    main()
