"""Content-hash train/val split: an example's split depends only on its own id, so adding or
removing other traces never moves it, and no seed can reshuffle it."""
from __future__ import annotations


def bucket(record_id: str) -> float:
    """Map a hex sha256 id to [0, 1) using its first 60 bits."""
    return int(record_id[:15], 16) / float(1 << 60)


def assign_split(record_id: str, val_fraction: float) -> str:
    return "val" if bucket(record_id) < val_fraction else "train"
