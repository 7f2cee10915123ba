"""Near-duplicate detection: MinHash signatures + LSH banding, vectorized with numpy.

Signatures use one-permutation hashing (OPH): each shingle is hashed once and falls into one of
`num_perm` bins; the bin minima form the signature. That is O(shingles) instead of
O(shingles x permutations) for classic MinHash, and it estimates the same Jaccard similarity.
Empty bins are filled by *optimal densification* (Shrivastava, ICML 2017): an empty bin j borrows
the value of the first non-empty bin in a pseudo-random probe sequence that depends only on j, so
two records agree on bin j with probability equal to their Jaccard similarity. Rotation
densification (borrowing the next bin to the right) is only the fallback after MAX_PROBES misses:
on short records it fills whole LSH bands from one or two shared bins, and records with Jaccard
0.25 collided at threshold 0.8. Everything below runs on whole batches of records as numpy
arrays (no per-token Python), which is what makes near-dedup cheap enough to leave on.

`signatures_reference` is the same algorithm in plain Python (the bench's reference build and the
tests' oracle): both produce bit-identical band keys.

Shingles are `shingle_size` consecutive word tokens (ASCII letters/digits/underscore and any
non-ASCII byte, ASCII-lowercased). Records with fewer tokens than a shingle get no signature and
take part in exact dedup only.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

MASK = (1 << 64) - 1
_P = 0x01000193  # byte polynomial base of the 32-bit token hash (odd, so it is invertible mod 2^32)
_PINV = pow(_P, -1, 1 << 32)
MASK32 = (1 << 32) - 1
_Q = 0x9E3779B97F4A7C15  # token polynomial base
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # splitmix64 finalizer
_BAND_MUL = 0xD6E8FEB86659FD93
_PROBE_SALT = 0x2545F4914F6CDD1D
MAX_PROBES = 1024  # per empty bin; a record with one non-empty bin of 128 misses all with p = 3e-4
_PROBE_FIRST = 8  # attempts in the first probe round: most empty bins are filled by then
_PROBE_CHUNK = 64

_WORD = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _WORD[_c] = True
_WORD[128:] = True
_LOWER = np.arange(256, dtype=np.uint32)
_LOWER[65:91] += 32


@dataclass(frozen=True)
class LSHConfig:
    shingle_size: int = 5
    num_perm: int = 128
    threshold: float = 0.8
    seed: int = 1

    @property
    def bands(self) -> tuple[int, int]:
        return optimal_bands(self.threshold, self.num_perm)


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimizing the false positive + false negative
    area around `threshold` (the criterion datasketch uses), by numeric integration."""
    s = (np.arange(400) + 0.5) / 400
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1 - (1 - s ** r) ** b  # probability that a pair of similarity s shares a band
            err = float(p[s < threshold].sum() + (1 - p[s >= threshold]).sum()) / 400
            if err < best_err - 1e-12:
                best, best_err = (b, r), err
    return best


# ---- numpy implementation ------------------------------------------------------------------
def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


class _Powers:
    """P^i and P^-i mod 2^32 for i < n, grown on demand (uint32 arithmetic wraps, which is the mod)."""

    def __init__(self) -> None:
        self.pow = np.ones(1, dtype=np.uint32)
        self.inv = np.ones(1, dtype=np.uint32)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pow) < n:
            size = max(n, 2 * len(self.pow), 1 << 16)
            with np.errstate(over="ignore"):
                for attr, base in (("pow", _P), ("inv", _PINV)):
                    steps = np.full(size, base, dtype=np.uint32)
                    steps[0] = 1
                    setattr(self, attr, np.cumprod(steps, dtype=np.uint32))
        return self.pow[:n], self.inv[:n]


_POWERS = _Powers()


def signatures(texts: Sequence[str], cfg: LSHConfig) -> tuple[np.ndarray, np.ndarray]:
    """Band keys (len(texts) x bands, uint64) and a mask of records that have a signature."""
    n, k = len(texts), cfg.num_perm
    nb, nr = cfg.bands
    out = np.zeros((n, nb), dtype=np.uint64)
    if n == 0:
        return out, np.zeros(0, dtype=bool)
    bufs = [t.encode("utf-8", "surrogatepass") for t in texts]
    data = np.frombuffer(b"\x00".join(bufs), dtype=np.uint8)
    rec_start = np.cumsum([0] + [len(b) + 1 for b in bufs[:-1]])
    size = len(data)
    padded = np.zeros(size + 2, dtype=bool)
    np.take(_WORD, data, out=padded[1:-1])
    edges = np.flatnonzero(padded[1:] != padded[:-1])  # word starts and ends, alternating
    starts, ends = edges[0::2], edges[1::2]
    ppow, pinv = _POWERS.get(size)
    with np.errstate(over="ignore"):
        # token hash = sum(byte_i * P^(len-1-i)) mod 2^32, from prefix sums of byte_i * P^-i
        pref = np.zeros(size + 1, dtype=np.uint32)
        np.cumsum(np.take(_LOWER, data) * pinv, dtype=np.uint32, out=pref[1:])
        tok = ((pref[ends] - pref[starts]) * ppow[ends - 1]).astype(np.uint64)
        # record of each token: records are few, so place them among the tokens (not the reverse)
        tok_rec = np.repeat(np.arange(n), np.diff(np.searchsorted(starts, rec_start), append=len(starts)))
        m = len(tok) - cfg.shingle_size + 1
        if m <= 0:
            return out, np.zeros(n, dtype=bool)
        sh = np.zeros(m, dtype=np.uint64)
        for t in range(cfg.shingle_size):
            sh = sh * np.uint64(_Q) + tok[t:t + m]
        keep = tok_rec[:m] == tok_rec[cfg.shingle_size - 1:]
        h = _mix(sh[keep] ^ np.uint64(cfg.seed & MASK))
        rec = tok_rec[:m][keep]
        sig = np.full(n * k, np.uint64(MASK), dtype=np.uint64)
        np.minimum.at(sig, rec * k + (h % np.uint64(k)).astype(np.int64), h // np.uint64(k))
        sig = sig.reshape(n, k)
        valid = sig != np.uint64(MASK)
        ok = valid.any(axis=1)
        dense = np.where(valid, sig, np.uint64(0))
        _densify(dense, sig, valid, ok, k)
        rows = dense[:, : nb * nr].reshape(n, nb, nr)  # band b holds bins b*nr .. b*nr+nr-1
        key = np.broadcast_to(np.uint64((cfg.seed * _BAND_MUL) & MASK) + np.arange(1, nb + 1, dtype=np.uint64), (n, nb))
        for r in range(nr):
            key = _mix(key * np.uint64(_Q) + rows[:, :, r])
        out[:] = key
    out[~ok] = 0  # no signature: no band keys (as in the reference)
    return out, ok


@lru_cache(maxsize=8)
def probe_table(k: int) -> np.ndarray:
    """Bin probed at attempt a for empty bin j (k x MAX_PROBES): the same sequence for every record,
    so it is computed once per `num_perm` instead of once per empty bin."""
    key = np.arange(k, dtype=np.uint64)[:, None] * np.uint64(MAX_PROBES) + np.arange(MAX_PROBES, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        table = (_mix(key ^ np.uint64(_PROBE_SALT)) % np.uint64(k)).astype(np.int16 if k <= 1 << 15 else np.int64)
    table.flags.writeable = False
    return table


def _densify(dense: np.ndarray, sig: np.ndarray, valid: np.ndarray, ok: np.ndarray, k: int) -> None:
    """Optimal densification of the empty bins of records that have a signature, in place. Probes
    run in growing chunks of attempts, so a mostly full record costs one small gather; bins still
    empty after MAX_PROBES (records with one or two non-empty bins) use rotation."""
    rows, cols = np.nonzero(~valid & ok[:, None])
    table = probe_table(k)
    start, step = 0, _PROBE_FIRST
    while len(rows) and start < MAX_PROBES:
        stop = min(MAX_PROBES, start + step)
        bins = table[cols, start:stop]
        hits = valid[rows[:, None], bins]
        found = hits.any(axis=1)
        f = np.flatnonzero(found)
        first = hits[f].argmax(axis=1)
        dense[rows[f], cols[f]] = sig[rows[f], bins[f, first]]
        rows, cols = rows[~found], cols[~found]
        start, step = stop, _PROBE_CHUNK
    if len(rows):  # rotation fallback: the next non-empty bin to the right (circularly) plus d*C
        for r in np.unique(rows).tolist():
            filled = np.flatnonzero(valid[r])
            js = cols[rows == r]
            pos = np.searchsorted(filled, js) % len(filled)
            nxt = filled[pos]
            dist = ((nxt - js) % k).astype(np.uint64)
            with np.errstate(over="ignore"):
                dense[r, js] = sig[r, nxt] + dist * np.uint64((1 << 64) // k)


def batched_signatures(texts: Iterable[str], cfg: LSHConfig, batch_bytes: int = 1 << 18) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """`signatures` over batches of about `batch_bytes` of text: bounded memory, numpy-sized calls."""
    batch: list[str] = []
    size = 0
    for t in texts:
        batch.append(t)
        size += len(t)
        if size >= batch_bytes:
            yield signatures(batch, cfg)
            batch, size = [], 0
    if batch:
        yield signatures(batch, cfg)


# ---- pure-Python reference (same algorithm, same bits) ----------------------------------------
def _mix_int(z: int) -> int:
    z = ((z ^ (z >> 30)) * _M1) & MASK
    z = ((z ^ (z >> 27)) * _M2) & MASK
    return z ^ (z >> 31)


def signature_reference(text: str, cfg: LSHConfig) -> tuple[list[int], bool]:
    """One record's band keys, computed with Python ints (the straightforward implementation)."""
    k = cfg.num_perm
    nb, nr = cfg.bands
    toks: list[int] = []
    cur, in_word = 0, False
    for byte in text.encode("utf-8", "surrogatepass"):
        if _WORD[byte]:
            cur = (cur * _P + int(_LOWER[byte])) & MASK32
            in_word = True
        elif in_word:
            toks.append(cur)
            cur, in_word = 0, False
    if in_word:
        toks.append(cur)
    sig = [MASK] * k
    for i in range(len(toks) - cfg.shingle_size + 1):
        sh = 0
        for t in toks[i:i + cfg.shingle_size]:
            sh = (sh * _Q + t) & MASK
        h = _mix_int(sh ^ (cfg.seed & MASK))
        b, v = h % k, h // k
        if v < sig[b]:
            sig[b] = v
    if all(v == MASK for v in sig):
        return [0] * nb, False
    c = (1 << 64) // k
    dense = []
    for j in range(k):
        if sig[j] != MASK:
            dense.append(sig[j])
            continue
        for a in range(MAX_PROBES):  # optimal densification
            b = _mix_int((j * MAX_PROBES + a) ^ _PROBE_SALT) % k
            if sig[b] != MASK:
                dense.append(sig[b])
                break
        else:  # rotation fallback
            d = 0
            while sig[(j + d) % k] == MASK:
                d += 1
            dense.append((sig[(j + d) % k] + d * c) & MASK)
    keys = []
    for b in range(nb):
        key = (cfg.seed * _BAND_MUL + b + 1) & MASK
        for r in range(nr):
            key = _mix_int((key * _Q + dense[b * nr + r]) & MASK)
        keys.append(key)
    return keys, True


# ---- corpus-level decisions ----------------------------------------------------------------
def first_near_copies(keys: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """For each row, the index of the earliest earlier eligible row sharing an LSH band, else -1.
    Earliest wins deterministically: rows are in build order (file path, line)."""
    n = len(keys)
    rep = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(eligible)
    if len(rows) == 0:
        return rep
    best = np.full(len(rows), len(rows), dtype=np.int64)
    for b in range(keys.shape[1]):
        _, first, inv = np.unique(keys[rows, b], return_index=True, return_inverse=True)
        best = np.minimum(best, first[inv.ravel()])
    earlier = best < np.arange(len(rows))
    rep[rows[earlier]] = rows[best[earlier]]
    return rep


def matches_any(keys: np.ndarray, eligible: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Rows sharing at least one LSH band with any row of `other` (e.g. the golden eval set)."""
    hit = np.zeros(len(keys), dtype=bool)
    if len(other) == 0 or len(keys) == 0:
        return hit
    for b in range(keys.shape[1]):
        hit |= np.isin(keys[:, b], other[:, b])
    return hit & eligible
