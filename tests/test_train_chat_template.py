"""Chat templates with and without tool support; only assistant tokens (tool calls included) carry labels."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tracelora.formats.chat_format import render, tokenize_for_training, uses_native_tools

TOOLS = [{"type": "function", "function": {"name": "read", "description": "SCHEMA: read a file",
                                           "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
CONV = [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": "What is in `a.py`?"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "read", "arguments": '{"path": "a.py"}'}}]},
    {"role": "tool", "name": "read", "content": "x = 1"},
    {"role": "assistant", "content": "`a.py` sets `x` to 1."},
]
LEARNED = ('<tool_call>\n{"name": "read", "arguments": {"path": "a.py"}}\n</tool_call><|im_end|>\n'
           "`a.py` sets `x` to 1.<|im_end|>\n")

# A Hermes/Qwen2.5-style template with its own tools and tool_calls support.
HERMES = (
    "{%- if tools %}<|im_start|>system\n{% if messages[0].role == 'system' %}{{ messages[0].content }}\n\n{% endif %}"
    "# Tools\n<tools>\n{% for t in tools %}{{ t | tojson }}\n{% endfor %}</tools><|im_end|>\n"
    "{% elif messages[0].role == 'system' %}<|im_start|>system\n{{ messages[0].content }}<|im_end|>\n{% endif %}"
    "{%- for m in messages %}{%- if m.role == 'system' %}"
    "{%- elif m.role == 'assistant' %}<|im_start|>assistant\n{{ m.content }}"
    "{% for c in m.tool_calls or [] %}{% if m.content or not loop.first %}\n{% endif %}<tool_call>\n"
    '{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}\n</tool_call>{% endfor %}<|im_end|>\n'
    "{% elif m.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ m.content }}\n</tool_response><|im_end|>\n"
    "{% else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture()
def tok(smol_tokenizer_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smol_tokenizer_dir)


def split(tok, enc) -> tuple[str, str]:
    ids, mask = enc["input_ids"], enc["assistant_masks"]
    return (tok.decode([i for i, m in zip(ids, mask) if m]), tok.decode([i for i, m in zip(ids, mask) if not m]))


def test_native_tool_template_gets_structured_calls_and_tools(tok) -> None:
    tok.chat_template = HERMES
    assert uses_native_tools(tok)
    text = render(tok, CONV, tools=TOOLS)
    assert "<tools>" in text and "SCHEMA: read a file" in text and "<tool_response>\nx = 1\n</tool_response>" in text
    learned, ignored = split(tok, tokenize_for_training(tok, CONV, 1024, TOOLS))
    assert learned == LEARNED  # the tool-call turn is learned in the shared <tool_call> format
    for part in ("SCHEMA: read a file", "You are a coding agent.", "What is in `a.py`?", "x = 1"):
        assert part in ignored and part not in learned


def test_template_whose_tool_format_differs_falls_back_to_the_text_format(tok) -> None:
    tok.chat_template = HERMES.replace("<tool_call>\n", "[CALL]").replace("\n</tool_call>", "[/CALL]")
    assert not uses_native_tools(tok)
    learned, ignored = split(tok, tokenize_for_training(tok, CONV, 1024, TOOLS))
    assert learned == LEARNED and "[CALL]" not in learned + ignored and "SCHEMA" not in ignored


def test_base_model_without_a_chat_template_uses_chatml_text(tok) -> None:
    tok.chat_template = None
    learned, ignored = split(tok, tokenize_for_training(tok, CONV, 1024))
    assert learned == LEARNED and ignored.startswith("<|im_start|>system\nYou are a coding agent.")


def test_context_turns_are_shown_without_labels(tok) -> None:
    conv = copy.deepcopy(CONV)
    conv[2]["_context"] = True
    learned, ignored = split(tok, tokenize_for_training(tok, conv, 1024))
    assert learned == "`a.py` sets `x` to 1.<|im_end|>\n" and '"name": "read"' in ignored


def test_openai_weight_zero_turns_are_shown_without_labels(tok) -> None:
    """OpenAI fine-tuning rows: an assistant message with `weight: 0` is context, not a target."""
    conv = copy.deepcopy(CONV)
    conv[4]["weight"] = 0
    conv[2]["weight"] = 1
    learned, ignored = split(tok, tokenize_for_training(tok, conv, 1024))
    assert learned == '<tool_call>\n{"name": "read", "arguments": {"path": "a.py"}}\n</tool_call><|im_end|>\n'
    assert "`a.py` sets `x` to 1." in ignored


def test_trl_labels_are_minus_100_outside_assistant_turns(tok, tiny_model_dir: Path, tmp_path: Path) -> None:
    """Through TRL's real dataset preparation and collator, as training sees it."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    enc = tokenize_for_training(tok, CONV, 1024)
    rows = [{"input_ids": enc["input_ids"], "assistant_masks": enc["assistant_masks"]}]
    cfg = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", max_length=1024, max_steps=1)
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model_dir), args=cfg, processing_class=tok,
                         train_dataset=Dataset.from_list(rows))
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels, ids = batch["labels"][0].tolist(), batch["input_ids"][0].tolist()
    assert tok.decode([t for t, lab in zip(ids, labels) if lab != -100]) == LEARNED
    assert all(lab in (-100, t) for t, lab in zip(ids, labels))
