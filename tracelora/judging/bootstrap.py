"""Paired bootstrap confidence intervals for adapter-minus-baseline deltas.

Both models answer the same examples, so the unit of resampling is the example: resample example
indices with replacement, take the mean of the per-example differences, repeat, and read the
percentiles. Pairing removes the between-example variance that two independent intervals would
double count. Seeded from (seed, metric name), so the same scores always give the same interval,
whatever else is computed. Pure Python: a few thousand resamples of <1000 examples take
milliseconds, and numpy's generator streams are not promised stable across versions.
"""
from __future__ import annotations

import math
import random


def paired_ci(diffs: list[float], samples: int = 1000, seed: int = 0, name: str = "",
              confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of `diffs` (adapter - baseline per example).

    One example (or identical differences) gives a zero-width interval at the point estimate:
    the data cannot show any spread. Raises ValueError on no examples or a non-finite value.
    """
    if not diffs:
        raise ValueError("no examples to bootstrap")
    if not all(math.isfinite(d) for d in diffs):
        raise ValueError("non-finite per-example difference")
    if samples < 1 or not 0 < confidence < 1:
        raise ValueError("samples must be >= 1 and confidence in (0, 1)")
    n = len(diffs)
    rng = random.Random(f"{seed}:{name}")
    means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(samples))
    alpha = (1 - confidence) / 2
    lo = means[max(0, math.floor(alpha * samples))]
    hi = means[min(samples - 1, math.ceil((1 - alpha) * samples) - 1)]
    return round(lo, 6), round(hi, 6)


def delta_cis(baseline: list[dict[str, float]], adapter: list[dict[str, float]], metrics: tuple[str, ...],
              samples: int, seed: int, confidence: float = 0.95) -> dict[str, dict[str, float]]:
    """`{metric: {"low": .., "high": ..}}` over the examples each metric applies to (present in both)."""
    out: dict[str, dict[str, float]] = {}
    for m in metrics:
        diffs = [a[m] - b[m] for b, a in zip(baseline, adapter) if m in a and m in b]
        if diffs:
            lo, hi = paired_ci(diffs, samples, seed, m, confidence)
            out[m] = {"low": lo, "high": hi}
    return out
