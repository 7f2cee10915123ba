"""What a user may ask the generator for, checked against the seed templates before any work."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tracelora.dataset.synthesis import TOOL_SETS, Template, load_templates, select, template_tools

MAX_EXAMPLES = 2000  # generation is interactive: a bigger set belongs to `tracelora build`
DEFAULT_SEEDS_DIR = Path(__file__).resolve().parent.parent / "data" / "seeds"


class OptionsError(ValueError):
    """Options that cannot produce the requested dataset; the message says what to change."""


@dataclass(frozen=True)
class Catalogue:
    """The seed templates and the choices they offer."""

    synthetic: list[Template]
    adversarial: list[Template]

    @classmethod
    def load(cls, seeds_dir: str | Path = DEFAULT_SEEDS_DIR) -> "Catalogue":
        seeds_dir = Path(seeds_dir)
        return cls(load_templates(seeds_dir / "synthetic.jsonl"), load_templates(seeds_dir / "adversarial.jsonl"))

    @property
    def categories(self) -> list[str]:
        return sorted({t.task_category for t in self.synthetic})

    @property
    def attacks(self) -> list[str]:
        return sorted({t.attack for t in self.adversarial if t.attack})

    @property
    def tools(self) -> list[str]:
        return sorted(set().union(*(template_tools(t) for t in self.synthetic + self.adversarial)))


@dataclass(frozen=True)
class GenerationOptions:
    categories: tuple[str, ...]
    count: int = 100
    adversarial_share: float = 0.15
    attacks: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()  # seed tool names a template may call
    tool_set: str = "openclaw"
    seed: int = 42

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def build_options(cat: Catalogue, *, categories: Any, count: Any, adversarial_share: Any, attacks: Any,
                  tools: Any, tool_set: Any, seed: Any) -> GenerationOptions:
    """Validate raw UI values (lists, floats from sliders, None from empty boxes) into options,
    sorted so that the same choice in any click order gives the same file."""
    try:
        n = int(count)
        share = float(adversarial_share)
        s = int(seed)
    except (TypeError, ValueError):
        raise OptionsError("count, adversarial share and seed must be numbers") from None
    if n != float(count) or s != float(seed):
        raise OptionsError("count and seed must be whole numbers")
    if not 1 <= n <= MAX_EXAMPLES:
        raise OptionsError(f"number of examples must be between 1 and {MAX_EXAMPLES} (asked for {n})")
    if not 0 <= share <= 1:
        raise OptionsError(f"adversarial share must be between 0 and 1 (got {share})")
    if tool_set not in TOOL_SETS:
        raise OptionsError(f"tool set must be one of {', '.join(TOOL_SETS)}")
    cats = tuple(sorted(set(categories or ())))
    unknown = set(cats) - set(cat.categories)
    if unknown:
        raise OptionsError(f"unknown task categories: {', '.join(sorted(unknown))}")
    atk = tuple(sorted(set(attacks or ())))
    tls = tuple(sorted(set(tools or ())))
    opts = GenerationOptions(cats, n, share, atk, tls, str(tool_set), s)
    n_adv = round(n * share)
    if n - n_adv > 0 and not synthetic_templates(cat, opts):
        raise OptionsError("no template matches the chosen task categories and tools: pick more of either")
    if n_adv > 0 and not adversarial_templates(cat, opts):
        raise OptionsError("no adversarial template matches the chosen attack kinds and tools: "
                           "pick more of either or set the adversarial share to 0")
    return opts


def synthetic_templates(cat: Catalogue, opts: GenerationOptions) -> list[Template]:
    return select(cat.synthetic, categories=list(opts.categories), tools=list(opts.tools))


def adversarial_templates(cat: Catalogue, opts: GenerationOptions) -> list[Template]:
    return select(cat.adversarial, attacks=list(opts.attacks), tools=list(opts.tools))
