"""The build pipeline, in two phases, with every record accounted for
(`read == kept + quarantined + filtered + duplicates`).

Phase 1 (`ChunkProcessor`, per input chunk, parallel and cacheable): the per-record step
(`RecordStep`: normalize -> redact -> filter -> content id -> serialized line -> post-redaction scan
of that line -> split), then MinHash band keys (real traces; generated examples get them in phase 2,
and only against a golden set). Its result depends only on the chunk's bytes, its path and the
params, so it can be cached by content hash. The Space runs the same `RecordStep` on one upload or
one generated set, and counts with the same `Tally` / `Accounting`.

Phase 2 (`merge`, whole corpus, cheap): exact dedup on the id, golden-set exclusion, near-dedup by
LSH bands (earliest copy kept), then the kept lines are copied verbatim into train/val. Only
fixed-size keys per candidate are held in memory (about 100 bytes each), never records.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from types import MappingProxyType
from typing import IO, Any, Iterable, Mapping, NamedTuple, Optional

import numpy as np

from tracelora.common.io import dumps_line
from tracelora.common.params import DataParams
from tracelora.cleaning.near_dedup import LSHConfig, batched_signatures, first_near_copies, matches_any, signatures
from tracelora.cleaning.quality import measured_quality_filter
from tracelora.formats.jsonl import RawLine
from tracelora.formats.records import FormatError, normalize, with_id
from tracelora.formats.tally import BLANK, FILTERED, KEPT, QUARANTINED, Tally
from tracelora.cleaning.redaction import Redactor, redact_record, scan_line
from tracelora.cleaning.leak_check import check_line
from tracelora.cleaning.shaping import Volume, shape, volume
from tracelora.cleaning.split import assign_split

PARTS = ("parse", "redact", "filter", "dedup", "write")
GENERATED_KINDS = ("synthetic", "adversarial")
SIG_BATCH_BYTES = 1 << 18  # text per signatures() call: arrays stay cache-sized (256 KB measured best)
# A record's fate (tracelora.formats.tally): the step decides KEPT (a candidate), QUARANTINED, FILTERED
# or BLANK; DUPLICATE is decided after it, by exact dedup (`decide` in the build, in memory in the Space).
EXACT = "exact"  # the Accounting.duplicates kind of a copy with the same content id
# The quarantine reason for a line that still holds a secret after redaction (the rule scan or the
# independent detector found one): never written, in the build (which then exits non-zero and fails
# `redaction_ok`) as in the Space.
POST_REDACTION_HIT = "post_redaction_hit"
MAX_REVIEW_ORIGINS = 20
_NO_HITS: Mapping[str, int] = MappingProxyType({})
YIELD_UNIT = ("characters of the records as redacted (assistant_chars: assistant text + tool-call names and JSON "
              "arguments; tool_result_chars: before the cap and the trim); real traces only; lines quarantined before "
              "they parse carry no measured content")


def lsh_config(p: DataParams) -> LSHConfig:
    return LSHConfig(shingle_size=p.near_dedup_shingle, num_perm=p.near_dedup_num_perm, threshold=p.near_dedup_threshold)


def shingle_text(record: dict[str, Any]) -> str:
    """What near-dedup compares: the conversation's words (roles, contents, tool names and arguments)."""
    parts = []
    for m in record["messages"]:
        parts.append(m["role"])
        parts.append(m["content"])
        for c in m.get("tool_calls", ()):
            parts.append(c["function"]["name"])
            parts.append(c["function"]["arguments"])
    return "\n".join(parts)


@dataclass
class Quarantined:
    origin: str
    reason: str
    detail: str

    def row(self) -> dict[str, str]:
        return {"origin": self.origin, "reason": self.reason, "detail": self.detail}

    def message(self) -> str:
        return f"{self.origin}: {self.reason}" + (f": {self.detail}" if self.detail else "")


class Fate(NamedTuple):
    """What `RecordStep` made of one raw line. `detail` is structural and already redacted; `line` is
    the record as written (UTF-8, no newline)."""
    status: str
    reason: str = ""
    detail: str = ""
    record: Optional[dict[str, Any]] = None
    line: bytes = b""
    split: str = ""  # "train" / "val" by content hash, for a KEPT record
    redactions: Mapping[str, int] = _NO_HITS
    volume: Volume = Volume(0, 0, 0)  # the normalized record's content (the yield block)
    shaped: tuple[int, int] = (0, 0)  # tool-result characters trimmed after the last assistant turn, elided by the cap


_BLANK = Fate(BLANK)
_tuple_new = tuple.__new__  # Fate for a kept record without NamedTuple's keyword __new__: a third of its cost


class RecordStep:
    """The per-record path of phase 1, shared by `ChunkProcessor` and the Space so that both apply the
    same guards: normalize -> redact -> shape (trim after the last assistant turn, cap tool results;
    tracelora.cleaning.shaping) -> quality filters -> content id -> the written line (rows with an
    unpaired surrogate are quarantined) -> post-redaction scan of that line -> split. Every fate is
    counted into `stats`; CPU time per part goes to `timings`. It is the build's hot path: one Fate
    per line, no other allocation or pass of its own."""

    def __init__(self, params: DataParams, kind: str, stats: Optional[Tally] = None,
                 timings: Optional[Counter[str]] = None) -> None:
        self.kind, self.val_fraction = kind, params.val_fraction
        self.max_tool_chars = params.max_tool_result_chars
        self.quality = measured_quality_filter(params)
        self.stats = Tally() if stats is None else stats
        self.timings: Counter[str] = Counter() if timings is None else timings

    def _quarantine(self, reason: str, detail: str, vol: Optional[Volume] = None) -> Fate:
        # Details are structural (keys, positions) but still go through redaction: nothing secret leaves.
        self.stats.quarantined[reason] += 1
        if vol is not None:
            self.stats.lose(reason, vol._asdict())
        return Fate(QUARANTINED, reason, Redactor().text(detail))

    def _unencodable(self, exc: UnicodeEncodeError, vol: Volume) -> Fate:
        """A row that reached the step with an unpaired surrogate (not from the JSONL reader, which
        quarantines those itself): it cannot be written as UTF-8."""
        return self._quarantine("invalid_unicode", f"unpaired surrogate U+{ord(exc.object[exc.start]):04X}", vol)

    def fate(self, line: RawLine) -> Fate:
        """One line's fate, counted. KEPT carries the record, its written line and its split; exact
        dedup is left to the caller (the build dedups across the corpus in phase 2)."""
        t0 = perf_counter()
        stats = self.stats
        stats.lines += 1
        if line.blank:
            stats.blank_lines += 1
            return _BLANK
        stats.read += 1
        if line.reason:
            return self._quarantine(line.reason, line.detail)
        try:
            record = normalize(line.row, line.origin, default_source=self.kind)
        except FormatError as exc:
            return self._quarantine(exc.reason, exc.detail)
        t1 = perf_counter()
        try:
            record, hits = redact_record(record)
        except UnicodeEncodeError as exc:  # an unpaired surrogate (RE2 matches UTF-8 only)
            vol = volume(record)
            stats.volume_read.update(vol._asdict())
            return self._unencodable(exc, vol)
        if hits:
            stats.redactions.update(hits)
            stats.records_redacted += 1
        # after redaction, so that a cut never leaves half a secret unrecognized
        record, trimmed, elided = shape(record, self.max_tool_chars)
        t2 = perf_counter()
        reason, vol = self.quality(record)  # the volume as written, tool results before the shaping
        if trimmed or elided:
            vol = Volume(vol.assistant_chars, vol.tool_calls, vol.tool_result_chars + trimmed + elided)
        read = stats.volume_read  # three additions: Counter.update(dict) costs a Python loop per record
        read["assistant_chars"] += vol[0]
        read["tool_calls"] += vol[1]
        read["tool_result_chars"] += vol[2]
        t3 = perf_counter()
        timings = self.timings
        timings["parse"] += t1 - t0
        timings["redact"] += t2 - t1
        timings["filter"] += t3 - t2
        if reason:
            stats.filtered[reason] += 1
            stats.lose(reason, vol._asdict())
            return Fate(FILTERED, reason, "", None, b"", "", hits, vol)
        record = with_id(record)
        try:
            out = dumps_line(record).encode("utf-8")
        except UnicodeEncodeError as exc:  # the same, where the stdlib engine let it through
            return self._unencodable(exc, vol)
        t4 = perf_counter()
        # the last line of defence, on the line as written: the rule scan and a detector that does not
        # share the rules' blind spots (tracelora.cleaning.leak_check). A hit is never written.
        leaks = scan_line(out)
        independent, review = check_line(out)
        if leaks or independent:
            found = Counter(leaks) + independent
            stats.leaks.update(found)
            timings["write"] += perf_counter() - t4
            return self._quarantine(POST_REDACTION_HIT, "rule hits after redaction: "
                                    + ", ".join(f"{k}={v}" for k, v in sorted(found.items())), vol)
        if review:
            stats.review_tokens += review
            if len(stats.review_origins) < MAX_REVIEW_ORIGINS:
                stats.review_origins.append(line.origin)
        split = assign_split(record["id"], self.val_fraction)
        stats.candidates += 1
        timings["dedup"] += t4 - t3
        timings["write"] += perf_counter() - t4
        return _tuple_new(Fate, (KEPT, "", "", record, out, split, hits, vol, (trimmed, elided)))


class ChunkProcessor:
    """Phase 1 for one stream of raw lines. Writes candidate record lines and quarantine rows to the
    given files as it goes; keeps only fixed-size keys per candidate in memory (plus the distinct
    (source, task_category) labels)."""

    def __init__(self, params: DataParams, kind: str, records_out: IO[bytes], quarantine_out: IO[str]) -> None:
        self.params, self.kind = params, kind
        self.lsh = lsh_config(params)
        self.records_out, self.quarantine_out = records_out, quarantine_out
        self.stats = Tally()
        self.timings: Counter[str] = Counter()
        self.step = RecordStep(params, kind, self.stats, self.timings)
        self._fate = self.step.fate
        self.ids: list[int] = []
        self.splits: list[int] = []
        self.volumes: list[Volume] = []
        self.shaped: list[tuple[int, int]] = []
        self.labels: dict[tuple[str, str], int] = {}
        self.sessions: list[int] = []  # session_key per candidate (0: the record names no session)
        self.label_idx: list[int] = []
        # Generated examples are never near-deduplicated (one template's examples are near-copies by
        # design); their band keys only matter against a golden set, so `fill_signatures` adds them then.
        self.with_signatures = kind not in GENERATED_KINDS
        self._texts: list[str] = []
        self._text_bytes = 0
        self._bands: list[np.ndarray] = []
        self._has_sig: list[np.ndarray] = []
        self._dedup_s = self._write_s = 0.0

    def add(self, line: RawLine) -> None:
        fate = self._fate(line)
        if fate.status != KEPT:
            if fate.status == QUARANTINED:
                self.quarantine_out.write(dumps_line(Quarantined(line.origin, fate.reason, fate.detail).row()) + "\n")
            return
        t0 = perf_counter()
        record = fate.record
        if self.with_signatures:
            text = shingle_text(record)
            self._texts.append(text)
            self._text_bytes += len(text)
            if self._text_bytes >= SIG_BATCH_BYTES:
                self._flush_signatures()
        t1 = perf_counter()
        meta = record["metadata"]
        self.ids.append(int(record["id"][:16], 16))
        self.volumes.append(fate.volume)
        self.shaped.append(fate.shaped)
        self.splits.append(1 if fate.split == "val" else 0)
        self.label_idx.append(self.labels.setdefault((meta["source"], meta["task_category"]), len(self.labels)))
        self.sessions.append(session_key(meta))
        self.records_out.write(fate.line + b"\n")
        self._dedup_s += t1 - t0  # folded into `timings` by finish(): cheaper than two Counter updates
        self._write_s += perf_counter() - t1

    def _flush_signatures(self) -> None:
        if self._texts:
            bands, ok = signatures(self._texts, self.lsh)
            self._bands.append(bands)
            self._has_sig.append(ok)
            self._texts, self._text_bytes = [], 0

    def finish(self) -> dict[str, np.ndarray]:
        """The chunk's key arrays: id64, split (1 = val), has_sig, band keys, leak hits, content volume
        (columns as in `Volume`) and tool characters shaped away (trimmed, elided) per candidate."""
        t = perf_counter()
        self.timings["write"] += self._write_s
        self._flush_signatures()
        nb = self.lsh.bands[0]
        n = len(self.ids)
        bands = np.concatenate(self._bands) if self._bands else np.zeros((n, nb), dtype=np.uint64)
        has_sig = np.concatenate(self._has_sig) if self._has_sig else np.zeros(n, dtype=bool)
        self.timings["dedup"] += self._dedup_s + perf_counter() - t
        self._dedup_s = self._write_s = 0.0
        vol = np.array(self.volumes, dtype=np.int64).reshape(n, len(Volume._fields))
        return {"id64": np.array(self.ids, dtype=np.uint64), "split": np.array(self.splits, dtype=np.uint8),
                "has_sig": has_sig, "bands": bands, "label": np.array(self.label_idx, dtype=np.int32),
                "session": np.array(self.sessions, dtype=np.uint64),
                "volume": vol, "shaped": np.array(self.shaped, dtype=np.int64).reshape(n, 2)}


@dataclass
class Entry:
    """One processed chunk as phase 2 sees it (from the cache or fresh)."""
    records_path: Path
    quarantine_path: Path
    keys: dict[str, np.ndarray]
    stats: Tally
    kind: str
    labels: list[tuple[str, str]]  # (source, task_category) by keys["label"]


@dataclass
class Accounting:
    read: Counter[str] = field(default_factory=Counter)  # by source kind (raw, synthetic, adversarial)
    quarantined: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)  # exact, near, golden
    near_dup_cross_split: int = 0
    redactions: Counter[str] = field(default_factory=Counter)
    records_redacted: int = 0
    blank_lines: int = 0
    split: Counter[str] = field(default_factory=Counter)
    by_source: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    leaks: Counter[str] = field(default_factory=Counter)  # post-redaction hits by rule: their lines were quarantined
    review_tokens: int = 0  # random-looking tokens no rule explained, left in kept lines (for review)
    review_origins: list[str] = field(default_factory=list)
    session_conflicts: dict[str, Any] = field(default_factory=lambda: {"sessions": 0, "examples": []})
    # the yield block, real traces only (generated examples are not what a user's sessions yield)
    volume_read: Counter[str] = field(default_factory=Counter)
    volume_kept: Counter[str] = field(default_factory=Counter)
    volume_lost: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    tool_chars_shaped: Counter[str] = field(default_factory=Counter)  # trimmed / elided, in kept records
    quarantined_lines: int = 0  # real-trace lines quarantined (those unreadable as records carry unmeasured content)

    @property
    def kept(self) -> int:
        return sum(self.split.values())

    def add_stats(self, stats: Tally, kind: str) -> None:
        self.read[kind] += stats.read
        self.quarantined.update(stats.quarantined)
        self.filtered.update(stats.filtered)
        self.redactions.update(stats.redactions)
        self.records_redacted += stats.records_redacted
        self.blank_lines += stats.blank_lines
        self.leaks.update(stats.leaks)
        self.review_tokens += stats.review_tokens
        self.review_origins += stats.review_origins[:max(0, MAX_REVIEW_ORIGINS - len(self.review_origins))]
        if kind not in GENERATED_KINDS:
            self.volume_read.update(stats.volume_read)
            for reason, amounts in stats.volume_lost.items():
                self.volume_lost[reason].update(amounts)
            self.quarantined_lines += sum(stats.quarantined.values())

    def balanced(self) -> bool:
        return sum(self.read.values()) == (self.kept + sum(self.quarantined.values()) + sum(self.filtered.values())
                                           + sum(self.duplicates.values()))

    def yield_block(self) -> dict[str, Any]:
        """How much of the ingested real sessions reaches train/val, and where the rest went."""
        out: dict[str, Any] = {"unit": YIELD_UNIT}
        for name in Volume._fields:
            read, kept = self.volume_read[name], self.volume_kept[name]
            lost = {r: c[name] for r, c in sorted(self.volume_lost.items()) if c[name]}
            # the goal's figure: of the sessions whose outcome is kept (not dropped as outcome_*)
            wanted = read - sum(v for r, v in lost.items() if r.startswith("outcome_"))
            out[name] = {"read": read, "kept": kept, "share": round(kept / read, 4) if read else None,
                         "share_of_kept_outcomes": round(kept / wanted, 4) if wanted else None, "lost_by_reason": lost}
        tool = out["tool_result_chars"]
        tool["trimmed_after_last_assistant_turn"] = self.tool_chars_shaped["trimmed"]
        tool["elided_by_cap"] = self.tool_chars_shaped["elided"]
        tool["written"] = tool["kept"] - tool["trimmed_after_last_assistant_turn"] - tool["elided_by_cap"]
        out["quarantined_lines"] = self.quarantined_lines
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": sum(self.read.values()),
            "read_by_kind": dict(sorted(self.read.items())),
            "kept": self.kept,
            "train": self.split["train"],
            "val": self.split["val"],
            "quarantined": sum(self.quarantined.values()),
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "filtered": sum(self.filtered.values()),
            "filtered_by_reason": dict(sorted(self.filtered.items())),
            "duplicates": sum(self.duplicates.values()),
            "duplicates_by_kind": {k: self.duplicates[k] for k in ("exact", "near", "golden")},
            "near_dup_cross_split_prevented": self.near_dup_cross_split,
            "blank_lines": self.blank_lines,
            "records_redacted": self.records_redacted,
            "redactions": sum(self.redactions.values()),
            "redactions_by_rule": dict(sorted(self.redactions.items())),
            "by_source": {k: dict(sorted(v.items())) for k, v in sorted(self.by_source.items())},
            "by_task_category": {k: dict(sorted(v.items())) for k, v in sorted(self.by_category.items())},
            "session_conflicts": self.session_conflicts,
        }


def decide(entries: list[Entry], prior_ids: np.ndarray, golden: np.ndarray, near: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """Phase-2 decisions over all candidates of `entries` in order: 0 keep, 1 exact, 2 golden, 3 near.
    `prior_ids` (sorted) are ids already kept by an earlier round (generated examples vs real ones)."""
    def cat(name: str, dtype: Any, shape: tuple[int, ...] = ()) -> np.ndarray:
        arrs = [e.keys[name] for e in entries]
        return np.concatenate(arrs) if arrs else np.zeros((0, *shape), dtype=dtype)

    nb = golden.shape[1] if golden.ndim == 2 else 0
    ids, split, has_sig = cat("id64", np.uint64), cat("split", np.uint8), cat("has_sig", bool)
    bands = cat("bands", np.uint64, (nb,))
    n = len(ids)
    status = np.zeros(n, dtype=np.int8)
    if n == 0:
        return status, {"cross_split": 0}
    _, first, inv = np.unique(ids, return_index=True, return_inverse=True)
    exact = first[inv.ravel()] < np.arange(n)
    if len(prior_ids):
        pos = np.clip(np.searchsorted(prior_ids, ids), 0, len(prior_ids) - 1)
        exact |= prior_ids[pos] == ids
    status[exact] = 1
    gold = matches_any(bands, has_sig & ~exact, golden) if len(golden) else np.zeros(n, dtype=bool)
    status[gold] = 2
    cross = 0
    if near:
        rep = first_near_copies(bands, has_sig & ~exact & ~gold)
        dup = rep >= 0
        status[dup] = 3
        cross = int((split[dup] != split[rep[dup]]).sum())
    return status, {"cross_split": cross}


def merge(entries: list[Entry], status: np.ndarray, acct: Accounting, sinks: dict[str, IO[bytes]]) -> np.ndarray:
    """Copy kept candidate lines verbatim into the split files (bulk byte slices, no re-encoding);
    count everything; return the kept ids."""
    i = 0
    kept_ids: list[np.ndarray] = []
    for e in entries:
        n = len(e.keys["id64"])
        st = status[i:i + n]
        i += n
        acct.add_stats(e.stats, e.kind)
        for code, name in ((1, "exact"), (2, "golden"), (3, "near")):
            acct.duplicates[name] += int((st == code).sum())
        keep = st == 0
        if e.kind not in GENERATED_KINDS and n:
            vol = e.keys["volume"]
            for code, reason in ((0, ""), (1, "duplicate_exact"), (2, "golden_overlap"), (3, "duplicate_near")):
                amounts = dict(zip(Volume._fields, vol[st == code].sum(axis=0).tolist()))
                if code == 0:
                    acct.volume_kept.update(amounts)
                    trimmed, elided = e.keys["shaped"][keep].sum(axis=0).tolist()
                    acct.tool_chars_shaped.update(trimmed=trimmed, elided=elided)
                elif any(amounts.values()):
                    acct.volume_lost[reason].update(amounts)
        kept_ids.append(e.keys["id64"][keep])
        if not n:
            continue
        lines = e.records_path.read_bytes().split(b"\n")
        for flag, split in ((0, "train"), (1, "val")):
            rows = np.flatnonzero(keep & (e.keys["split"] == flag))
            if len(rows):
                sinks[split].write(b"\n".join([lines[j] for j in rows.tolist()]) + b"\n")
            acct.split[split] += len(rows)
            for label, count in enumerate(np.bincount(e.keys["label"][rows], minlength=len(e.labels)).tolist()):
                if count:
                    source, category = e.labels[label]
                    acct.by_source[source][split] += count
                    acct.by_category[category][split] += count
    return np.concatenate(kept_ids) if kept_ids else np.zeros(0, dtype=np.uint64)


def session_key(meta: dict[str, Any]) -> int:
    """64-bit key of the session branch a record comes from (source, session id, branch leaf,
    segment), 0 when it names no session: two kept records with one key and different content are
    the same session ingested twice, differently (an old export beside a new one)."""
    sid = meta.get("session_id")
    if not sid:
        return 0
    text = f"{meta.get('source')}\0{sid}\0{meta.get('branch_leaf')}\0{meta.get('segment')}"
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") or 1


MAX_CONFLICT_EXAMPLES = 5


def session_conflicts(entries: list[Entry], status: np.ndarray) -> dict[str, Any]:
    """Sessions kept more than once with different content, across the corpus: how many, and the
    first few (session id and the origins of its copies). Both copies stay (they may be two honest
    exports); the build says so instead of training on both without a word."""
    keys = [e.keys.get("session", np.zeros(len(e.keys["id64"]), dtype=np.uint64)) for e in entries]
    allk = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
    kept = (status == 0) & (allk != 0)
    uniq, counts = np.unique(allk[kept], return_counts=True)
    dup = set(uniq[counts > 1].tolist())
    out: dict[str, Any] = {"sessions": len(dup), "examples": []}
    if not dup:
        return out
    found: dict[int, list[str]] = {}
    sids: dict[int, str] = {}
    i = 0
    for e, k in zip(entries, keys):
        rows = [j for j in np.flatnonzero(kept[i:i + len(k)]).tolist() if int(k[j]) in dup]
        i += len(k)
        if not rows:
            continue
        lines = e.records_path.read_bytes().split(b"\n")
        for j in rows:
            h = int(k[j])
            if h not in found and len(found) >= MAX_CONFLICT_EXAMPLES:
                continue
            meta = json.loads(lines[j])["metadata"]
            sids[h] = str(meta.get("session_id"))
            found.setdefault(h, []).append(str(meta.get("origin")))
    out["examples"] = [{"session_id": sids[h], "origins": origins} for h, origins in found.items()]
    return out


def fill_signatures(entry: Entry, params: DataParams) -> None:
    """Band keys for a chunk processed without them (generated examples), from its written lines."""
    if entry.keys["has_sig"].any() or not len(entry.keys["id64"]):
        return
    with open(entry.records_path, "rb") as fh:
        texts = [shingle_text(json.loads(line)) for line in fh]
    parts = list(batched_signatures(texts, lsh_config(params), SIG_BATCH_BYTES))
    entry.keys["bands"] = np.concatenate([b for b, _ in parts])
    entry.keys["has_sig"] = np.concatenate([ok for _, ok in parts])


def golden_keys(paths: Iterable[Path], params: DataParams, read: Any) -> np.ndarray:
    """Band keys of the golden eval examples (normalized and redacted like training data)."""
    texts = []
    for path in paths:
        for line in read(path):
            if line.blank or line.reason:
                continue
            try:
                record, _ = redact_record(normalize(line.row, line.origin))
            except FormatError:
                continue
            texts.append(shingle_text(record))
    bands, ok = signatures(texts, lsh_config(params))
    return bands[ok]

