"""How examples are fed to the trainer: host-side loader knobs and packing / padding-free batches.

Pure functions from params to SFTConfig keyword arguments plus the warnings a user must see when
a knob cannot apply here (e.g. `pin_memory` without CUDA): applied for real where they can,
ignored with a warning where they cannot, never silently.

Packing (TRL best-fit-decreasing) and padding-free batches put several examples in one row;
the collator then emits `position_ids` restarting at 0 per example and no attention mask, and
transformers builds a block-diagonal causal mask from them (masking_utils.find_packed_sequence_indices
for sdpa/eager; varlen kernels for FlashAttention), so no token attends across an example boundary.
"""
from __future__ import annotations

from typing import Any

from tracelora.common.params import TrainParams


def loader_settings(p: TrainParams, cuda: bool, cpu_count: int) -> tuple[dict[str, Any], list[str]]:
    """SFTConfig kwargs for the host-side data path, and why any knob was ignored."""
    warnings: list[str] = []
    workers = p.dataloader_num_workers
    kw: dict[str, Any] = {"dataloader_num_workers": workers, "dataloader_persistent_workers": False,
                          "dataloader_prefetch_factor": None, "dataloader_pin_memory": False,
                          "dataset_num_proc": p.map_num_proc if p.map_num_proc > 1 else None}
    if p.map_num_proc > cpu_count:
        warnings.append(f"train.map_num_proc={p.map_num_proc} exceeds the {cpu_count} CPUs here: processes will contend")
    if p.prefetch_factor is not None:
        if workers == 0:
            warnings.append("train.prefetch_factor ignored: it needs dataloader_num_workers > 0")
        else:
            kw["dataloader_prefetch_factor"] = p.prefetch_factor
    if p.persistent_workers:
        if workers == 0:
            warnings.append("train.persistent_workers ignored: it needs dataloader_num_workers > 0")
        else:
            kw["dataloader_persistent_workers"] = True
    if p.pin_memory is True and not cuda:
        warnings.append("train.pin_memory ignored: pinned host memory only helps copies to a CUDA device")
    kw["dataloader_pin_memory"] = bool(cuda and p.pin_memory in (True, "auto"))
    return kw, warnings


def packing_settings(p: TrainParams) -> dict[str, Any]:
    """SFTConfig kwargs for packing / padding-free. Examples are already at most `max_length`
    tokens (windows or truncation), so padding-free without packing needs no max_length of its own."""
    if p.packing:
        return {"packing": True, "packing_strategy": "bfd", "padding_free": True, "max_length": p.max_length}
    if p.padding_free:
        return {"packing": False, "padding_free": True, "max_length": None}
    return {"packing": False, "padding_free": False, "max_length": p.max_length}
