"""Real forward/backward and generation on a tiny model built from a config with the SmolLM2 tokenizer."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import write_jsonl

from tracelora.formats.chat_format import prompt_and_reference, tokenize_for_training
from tracelora.model.training import choose_method, use_bf16

CONV = [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": "What is in `a.py`?"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "read", "arguments": '{"path": "a.py"}'}}]},
    {"role": "tool", "name": "read", "content": "x = 1"},
    {"role": "assistant", "content": "`a.py` sets `x` to 1."},
]


def test_only_assistant_tokens_carry_labels(smol_tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    enc = tokenize_for_training(tok, CONV, 512)
    ids, mask = enc["input_ids"], enc["assistant_masks"]
    learned = tok.decode([i for i, m in zip(ids, mask) if m])
    ignored = tok.decode([i for i, m in zip(ids, mask) if not m])
    assert learned == ('<tool_call>\n{"name": "read", "arguments": {"path": "a.py"}}\n</tool_call><|im_end|>\n'
                       "`a.py` sets `x` to 1.<|im_end|>\n")
    for text in ("You are a coding agent.", "What is in `a.py`?", "x = 1"):
        assert text in ignored and text not in learned
    assert tokenize_for_training(tok, CONV, 10)["truncated"] is True


def test_prompt_and_reference_split_at_last_assistant_turn() -> None:
    prompt, ref = prompt_and_reference({"messages": CONV})
    assert prompt == CONV[:4] and ref == "`a.py` sets `x` to 1."


def test_method_choice_falls_back_to_lora_without_cuda() -> None:
    assert choose_method("auto", cuda=False, bnb_available=True).method == "lora"
    c = choose_method("qlora", cuda=False, bnb_available=True)
    assert (c.method, c.requested, c.device) == ("lora", "qlora", "cpu") and "fell back" in c.note
    assert choose_method("auto", cuda=True, bnb_available=True).method == "qlora"
    assert choose_method("lora", cuda=True, bnb_available=True).method == "lora"


def _dataset(tmp: Path) -> Path:
    rows = []
    for i in range(12):
        rows.append({"id": f"{i:064x}", "messages": [
            {"role": "user", "content": f"Fix `mod_{i}.py`"},
            {"role": "assistant", "content": f"Fixed `mod_{i}.py`: {i} passed."}],
            "metadata": {"source": "raw", "task_category": "bugfix", "outcome": "success", "origin": f"x:{i}"}})
    write_jsonl(tmp / "data" / "train.jsonl", rows[:8])
    write_jsonl(tmp / "data" / "val.jsonl", rows[8:])
    return tmp / "data"


def test_bf16_auto_follows_the_hardware() -> None:
    with_bf16 = "flags\t: fpu sse avx2 avx512f avx512_bf16\n"
    without = "flags\t: fpu sse avx2 avx512f\n"
    assert use_bf16("auto", "cpu", with_bf16) is True
    assert use_bf16("auto", "cpu", without) is False
    assert use_bf16("auto", "cuda", without) is True
    assert use_bf16(False, "cuda", with_bf16) is False and use_bf16(True, "cpu", without) is True


def test_train_then_evaluate_tiny_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    from tracelora.stages import evaluate, train

    data = _dataset(tmp_path)
    (tmp_path / "params.yaml").write_text(
        "train: {max_steps: 3, per_device_batch_size: 2, gradient_accumulation_steps: 1, max_length: 64, logging_steps: 1}\n"
        "eval: {max_examples: 3, max_new_tokens: 5, batch_size: 2}\n")
    prm = ["--params", str(tmp_path / "params.yaml")]
    assert train.main(["--data", str(data), "--base", str(tiny_model_dir), "--out", str(tmp_path / "adapter"),
                       "--metrics", str(tmp_path / "train.json"), "--plots", str(tmp_path / "curve.json"), *prm]) == 0
    m = json.loads((tmp_path / "train.json").read_text())
    assert m["method"] == "lora" and m["device"] == "cpu" and m["method_requested"] == "auto"
    assert m["steps"] == 3 and m["tokens_seen"] > 0 and m["final_loss"] > 0 and m["peak_memory_mb"] > 0
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert [c["step"] for c in curve] == [1, 2, 3]
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()

    assert evaluate.main(["--val", str(data / "val.jsonl"), "--base", str(tiny_model_dir), "--adapter", str(tmp_path / "adapter"),
                          "--out", str(tmp_path / "eval.json"), "--predictions", str(tmp_path / "pred.jsonl"), *prm]) == 0
    res = json.loads((tmp_path / "eval.json").read_text())
    assert res["n_examples"] == 3
    for block in ("baseline", "adapter", "delta"):
        # no tool turns and no adversarial examples in this data: only the text metrics and over-refusal
        assert set(res[block]) == {"exact_match", "keyword_recall", "token_f1", "over_refusal_rate"}
    assert res["delta"]["keyword_recall"] == round(res["adapter"]["keyword_recall"] - res["baseline"]["keyword_recall"], 6)
    preds = [json.loads(line) for line in (tmp_path / "pred.jsonl").read_text().splitlines()]
    assert len(preds) == 3 and all({"prompt", "reference", "baseline_output", "adapter_output"} <= set(p) for p in preds)


def test_train_rejects_a_bad_shard_with_file_and_line(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    from tracelora.stages import train

    data = _dataset(tmp_path)
    bad = tmp_path / "shard.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "x"}]}\n{"messages": 5}\n')
    (tmp_path / "params.yaml").write_text(f"train: {{train_files: ['{bad}']}}\n")
    rc = train.main(["--data", str(data), "--base", str(tiny_model_dir), "--out", str(tmp_path / "adapter"),
                     "--metrics", str(tmp_path / "t.json"), "--plots", str(tmp_path / "c.json"), "--params", str(tmp_path / "params.yaml")])
    assert rc == 2
    assert f"{bad}:2: bad_messages" in capsys.readouterr().err
    assert not (tmp_path / "adapter").exists()
