"""What `dvc metrics show` shows, read straight from the files dvc.yaml declares (no subprocess,
instant refresh), and the last gate decision with its reasons. Pure reads; a missing or broken
file becomes a row that says so."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def declared_metrics(project: Path) -> list[str]:
    """Metrics files of every stage in dvc.yaml, in stage order (fallback: metrics/*.json)."""
    files: list[str] = []
    try:
        doc = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    for stage in (doc.get("stages") or {}).values():
        for item in (stage or {}).get("metrics") or []:
            name = next(iter(item)) if isinstance(item, dict) else str(item)
            if name not in files:
                files.append(name)
    if not files:
        files = sorted(p.relative_to(project).as_posix() for p in (project / "metrics").glob("*.json"))
    return files


def flatten(obj: Any, prefix: str = "", max_depth: int = 2) -> list[tuple[str, Any]]:
    """Nested dicts -> dotted keys; deeper blocks (per-category tables) are summarized, not dumped."""
    if isinstance(obj, dict) and max_depth >= 0:
        out: list[tuple[str, Any]] = []
        for k, v in obj.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k), max_depth - 1)
        return out
    if isinstance(obj, (dict, list)):
        return [(prefix, f"<{len(obj)} items>")]
    return [(prefix, obj)]


def metrics_rows(project: Path) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for name in declared_metrics(project):
        path = project / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            rows.append((name, "-", "missing (run the stage)"))
            continue
        except (OSError, ValueError) as exc:
            rows.append((name, "-", f"unreadable: {type(exc).__name__}"))
            continue
        if name.endswith("gate_decision.json") and isinstance(data, dict):
            data = {"promote": data.get("promote"), "decision": data.get("decision")}
        for key, value in flatten(data):
            if isinstance(value, float):
                value = f"{value:.4g}"
            rows.append((name, key, str(value)))
    return rows


def gate_text(project: Path, path: str = "metrics/gate_decision.json") -> str:
    """The last gate decision as lines: decision, then PASS/FAIL per check with its reason."""
    try:
        decision = json.loads((project / path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no gate decision yet ({path} missing): run the pipeline"
    except (OSError, ValueError):
        return f"{path}: not valid JSON (promotion blocked)"
    if not isinstance(decision, dict):
        return f"{path}: not a JSON object (promotion blocked)"
    lines = [f"Gate: {str(decision.get('decision', 'promote' if decision.get('promote') else 'block')).upper()}"]
    for check in decision.get("checks") or []:
        mark = "PASS" if check.get("passed") else "FAIL"
        lines.append(f"  {mark}  {check.get('name', '?')}: {check.get('reason', '')}")
    reasons = decision.get("reasons") or []
    if reasons:
        lines.append("Reasons: " + "; ".join(str(r) for r in reasons))
    return "\n".join(lines)
