"""Which examples are scored (val, safety slice, tool turns, golden set), the evaluate stage's outputs
on a tiny model, and the counterexample review file."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import write_jsonl

from tracelora.ops import counterexamples
from tracelora.stages import evaluate
from tracelora.dataset.golden import load_golden
from tracelora.judging.evaluation import select_items

FAKE_KEY = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2


def _rec(i: int, category: str = "bugfix", source: str = "raw", tool: bool = False) -> dict:
    msgs = [{"role": "system", "content": "You are a coding agent."}, {"role": "user", "content": f"Fix `mod_{i}.py`"}]
    if tool:
        msgs += [{"role": "assistant", "content": "", "tool_calls": [
                     {"type": "function", "function": {"name": "read", "arguments": json.dumps({"path": f"mod_{i}.py"})}}]},
                 {"role": "tool", "name": "read", "content": "x = 1"}]
    msgs.append({"role": "assistant", "content": f"Fixed `mod_{i}.py`: {i} passed."})
    return {"id": f"{i:064x}", "messages": msgs,
            "metadata": {"source": source, "task_category": category, "outcome": "success", "origin": f"x:{i}"}}


def test_selection_tops_up_the_safety_slice_and_adds_tool_turns() -> None:
    recs = [_rec(i, tool=i % 3 == 0) for i in range(10)] + [_rec(i, "safety", "adversarial") for i in range(10, 14)]
    items = select_items(list(reversed(recs)), max_examples=5, min_safety=3, tool_examples=2)
    finals = [it for it in items if it["turn"] == "final"]
    assert [it["record_id"] for it in finals[:5]] == [f"{i:064x}" for i in range(5)]  # first by id, whatever the file order
    assert [int(it["record_id"], 16) for it in finals[5:]] == [10, 11, 12] and all(it["adversarial"] for it in finals[5:])
    tools = [it for it in items if it["turn"] == "tool_call"]
    assert [it["id"] for it in tools] == [f"{0:064x}:turn2", f"{3:064x}:turn2"]
    assert tools[0]["reference"].startswith("<tool_call>") and len(tools[0]["prompt"]) == 2
    assert tools[0]["reference_message"]["tool_calls"] and not tools[0]["adversarial"]
    assert finals[0]["keywords"] == ["mod_0.py", "0"]
    assert select_items(recs, 5, 0, 0) == select_items(list(reversed(recs)), 5, 0, 0)
    schema = [{"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}}]
    with_tools = select_items([{**recs[0], "tools": schema}], 1, 0, 1)
    assert [it.get("tools") for it in with_tools] == [schema, schema]  # rendered into the prompt as in training
    assert select_items([{"id": "a", "messages": [{"role": "assistant", "content": "hi"}], "metadata": {}}], 5, 0, 5) == []


def test_golden_set_is_read_redacted_and_bad_lines_reported(tmp_path: Path) -> None:
    gold = tmp_path / "eval"
    gold.mkdir()
    (gold / "golden.jsonl").write_text(
        json.dumps({"user": "What is the key?", "assistant": f"Use `{FAKE_KEY}` from `.env`.", "task_category": "explain"}) + "\n"
        + "{broken\n\n" + json.dumps({"nothing": 1}) + "\n")
    recs, files, problems = load_golden(gold)
    assert files == [(gold / "golden.jsonl").as_posix()] and len(recs) == 1
    assert recs[0]["metadata"]["source"] == "golden" and len(recs[0]["id"]) == 64
    assert FAKE_KEY not in json.dumps(recs) and "<SECRET_" in json.dumps(recs)
    assert [p.split(": ")[1] for p in problems] == ["invalid_json", "unknown_schema"]
    assert problems[0].startswith(f"{gold / 'golden.jsonl'}:2")
    assert load_golden(tmp_path / "absent") == ([], [], [])


def _adapter(tiny_model_dir: Path, out: Path) -> Path:
    """A freshly initialized LoRA (B = 0): the adapter must score exactly like the base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(out)
    return out


def test_evaluate_scores_val_tool_turns_safety_and_golden(tmp_path: Path, tiny_model_dir: Path) -> None:
    val = write_jsonl(tmp_path / "val.jsonl", [_rec(i, tool=i < 2) for i in range(4)] + [_rec(9, "safety", "adversarial")])
    write_jsonl(tmp_path / "eval" / "golden.jsonl", [{"user": "Fix `g.py`", "assistant": "Fixed `g.py`: 2 passed.",
                                                      "task_category": "bugfix"}])
    (tmp_path / "params.yaml").write_text("eval: {max_examples: 3, max_new_tokens: 4, batch_size: 4, bootstrap_samples: 50, "
                                          "min_safety_examples: 1, tool_call_examples: 1}\n")
    adapter = _adapter(tiny_model_dir, tmp_path / "adapter")
    args = ["--val", str(val), "--base", str(tiny_model_dir), "--adapter", str(adapter), "--out", str(tmp_path / "eval.json"),
            "--predictions", str(tmp_path / "pred.jsonl"), "--golden", str(tmp_path / "eval"), "--params", str(tmp_path / "params.yaml")]
    assert evaluate.main(args) == 0
    res = json.loads((tmp_path / "eval.json").read_text())
    assert res["n_examples"] == 5  # 3 finals + 1 adversarial top-up + 1 tool turn
    assert res["n"]["safe_refusal_rate"] == 1 and res["n"]["tool_call_valid"] == 1
    assert set(res["adapter"]) == {"exact_match", "keyword_recall", "token_f1", "tool_call_valid", "tool_name_accuracy",
                                   "tool_args_match", "safe_refusal_rate", "over_refusal_rate"}
    assert all(v == 0.0 for v in res["delta"].values())  # identity adapter
    assert all(ci == {"low": 0.0, "high": 0.0} for ci in res["delta_ci"].values())
    assert set(res["by_task_category"]) == {"bugfix", "safety"} and set(res["by_source"]) == {"raw", "adversarial"}
    assert res["golden"]["n_examples"] == 1 and res["golden"]["files"] == ["eval/golden.jsonl"]  # relative to the project root
    assert res["bootstrap"] == {"method": "paired percentile", "confidence": 0.95, "samples": 50, "seed": 0}
    assert res["generation"]["generated_tokens"] > 0
    preds = (tmp_path / "pred.jsonl").read_text()
    rows = [json.loads(line) for line in preds.splitlines()]
    assert [r["split"] for r in rows] == ["val"] * 5 + ["golden"]
    assert all({"prompt", "reference", "baseline_output", "adapter_output", "baseline", "adapter"} <= set(r) for r in rows)
    assert evaluate.main(args) == 0
    assert (tmp_path / "pred.jsonl").read_text() == preds  # greedy + content-defined sample: reproducible


def _pred(i: int, adapter: dict, split: str = "val", turn: str = "final") -> dict:
    rec = _rec(i)
    return {"id": rec["id"], "split": split, "turn": turn, "source": "raw", "task_category": "bugfix",
            "prompt": rec["messages"][:-1], "reference_message": rec["messages"][-1], "reference": rec["messages"][-1]["content"],
            "keywords": ["x"], "baseline_output": "b", "adapter_output": "a", "baseline": {"exact_match": 0.0, "keyword_recall": 0.5},
            "adapter": adapter}


def test_counterexamples_collect_failures_and_merge_by_id(tmp_path: Path) -> None:
    preds = write_jsonl(tmp_path / "pred.jsonl", [
        _pred(1, {"exact_match": 0.0, "keyword_recall": 0.2}),                          # keywords
        _pred(2, {"exact_match": 1.0, "keyword_recall": 1.0}),                          # fine
        _pred(3, {"exact_match": 0.0, "keyword_recall": 1.0, "safe_refusal_rate": 0.0}),  # unsafe
        _pred(4, {"exact_match": 0.0, "keyword_recall": 1.0, "tool_call_valid": 1.0, "tool_name_accuracy": 1.0,
                  "tool_args_match": 0.0}, turn="tool_call"),                            # wrong arguments
        _pred(5, {"exact_match": 0.0, "keyword_recall": 0.0}, split="golden"),          # never collected
        _pred(6, {"exact_match": 0.0, "keyword_recall": 1.0, "over_refusal_rate": 1.0}),  # refused a benign request
    ])
    out = tmp_path / "seeds" / "counterexamples.jsonl"
    args = ["--predictions", str(preds), "--out", str(out)]
    assert counterexamples.main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [int(r["counterexample_id"], 16) for r in rows] == [1, 3, 4, 6]
    assert [r["review"]["failed"][0].split(":")[0] for r in rows] == ["keywords", "unsafe", "tool_call", "over_refusal"]
    assert rows[2]["review"]["failed"] == ["tool_call: wrong arguments"]
    assert rows[0]["messages"] == _rec(1)["messages"] and rows[0]["review"]["status"] == "pending"
    from tracelora.formats.records import normalize  # the rows are valid input for the build
    assert normalize(rows[0], "x:1")["metadata"]["source"] == "counterexample"

    # The user edits a row and deletes another; a rerun keeps the edit and re-adds nothing twice.
    edited = json.dumps({**rows[0], "review": {**rows[0]["review"], "status": "accepted"}}, indent=None)
    out.write_text(edited + "\n" + json.dumps(rows[1]) + "\n")
    assert counterexamples.main(args) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == edited and [int(json.loads(x)["counterexample_id"], 16) for x in lines] == [1, 3, 4, 6]
    before = out.read_text()
    assert counterexamples.main(args) == 0 and out.read_text() == before  # idempotent


def test_counterexamples_never_clobber_a_malformed_file(tmp_path: Path, capsys) -> None:
    preds = write_jsonl(tmp_path / "pred.jsonl", [_pred(1, {"exact_match": 0.0, "keyword_recall": 0.0})])
    out = tmp_path / "counterexamples.jsonl"
    out.write_text('{"counterexample_id": "a"}\n{half an edit\n')
    assert counterexamples.main(["--predictions", str(preds), "--out", str(out)]) == 2
    assert f"{out}:2: invalid_json (" in capsys.readouterr().err
    assert out.read_text() == '{"counterexample_id": "a"}\n{half an edit\n'
    assert counterexamples.main(["--predictions", str(tmp_path / "nope.jsonl"), "--out", str(out)]) == 2
