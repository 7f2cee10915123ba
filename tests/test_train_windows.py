"""Long sessions become windows at turn boundaries (real SmolLM2 tokenizer, real chat template)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracelora.formats.chat_format import tokenize_for_training
from tracelora.model.training import tokenize_records
from tracelora.model.windows import split_windows


@pytest.fixture(scope="module")
def tok(smol_tokenizer_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smol_tokenizer_dir)


def call(i: int) -> dict:
    return {"type": "function", "function": {"name": "read", "arguments": json.dumps({"path": f"file_{i}.py"})}}


def session(steps: int) -> list[dict]:
    """system, task, then `steps` x (assistant tool call -> tool result), then a final answer."""
    msgs = [{"role": "system", "content": "You are a coding agent."},
            {"role": "user", "content": "TASK: find the bug in the repo."}]
    for i in range(steps):
        msgs.append({"role": "assistant", "content": f"step {i}: reading.", "tool_calls": [call(i)]})
        msgs.append({"role": "tool", "name": "read", "content": f"RESULT_{i} " + "x = 1\n" * 6})
    msgs.append({"role": "assistant", "content": "FINAL: the bug is in file_3.py."})
    return msgs


def learned(tok, enc) -> str:
    return tok.decode([i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m])


def test_a_session_that_fits_is_one_window_identical_to_plain_tokenizing(tok) -> None:
    msgs = session(2)
    w = split_windows(tok, msgs, 4096)
    assert len(w.encodings) == 1 and w.dropped_turns == 0
    assert w.encodings[0] == tokenize_for_training(tok, msgs, 4096)


def test_long_session_splits_at_turn_boundaries_and_learns_every_turn_once(tok) -> None:
    msgs = session(12)
    assert tokenize_for_training(tok, msgs, 176)["truncated"]
    w = split_windows(tok, msgs, 176)
    assert len(w.encodings) > 2 and w.dropped_turns == 0
    learned_all = ""
    for n, enc in enumerate(w.encodings):
        assert len(enc["input_ids"]) <= 176 and not enc["truncated"]
        text = tok.decode(enc["input_ids"])
        assert text.startswith("<|im_start|>system\nYou are a coding agent.<|im_end|>\n<|im_start|>user\nTASK:")
        # later windows say that steps between the task and the window were left out
        assert (" earlier messages elided …]<|im_end|>" in text) == (n > 0)
        assert text.endswith("<|im_end|>\n") and enc["assistant_masks"][-1] == 1  # ends with a learned assistant turn
        for i in range(12):  # a tool result never appears without the call that produced it
            if f"RESULT_{i} " in text:
                assert text.index(f'"file_{i}.py"') < text.index(f"RESULT_{i} ")
        lt = learned(tok, enc)
        assert "RESULT_" not in lt and "TASK:" not in lt and "coding agent" not in lt
        learned_all += lt
    for i in range(12):
        assert learned_all.count(f"step {i}: reading.") == 1 and learned_all.count(f'"file_{i}.py"') == 1
    assert learned_all.count("FINAL: the bug is in file_3.py.") == 1  # truncation would have lost it


def test_a_turn_that_fits_no_window_is_dropped_and_counted(tok) -> None:
    msgs = session(3)
    msgs[4] = {**msgs[4], "content": "step 1: " + "very long reasoning " * 80}
    w = split_windows(tok, msgs, 160)
    assert w.dropped_turns == 1
    text = "".join(learned(tok, e) for e in w.encodings)
    assert "very long reasoning" not in text and "FINAL:" in text and "step 0: reading." in text


def test_a_record_longer_than_any_window_is_dropped_with_its_origin(tok) -> None:
    big = {"id": "a" * 64, "messages": [{"role": "user", "content": "Explain."},
                                        {"role": "assistant", "content": "word " * 400}],
           "metadata": {"origin": "shard.jsonl:7"}}
    ok = {"id": "b" * 64, "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
          "metadata": {"origin": "shard.jsonl:8"}}
    for procs in (1, 2):
        s = tokenize_records(tok, [big, ok], 128, "window", num_proc=procs)
        assert len(s.rows) == 1 and s.dropped_no_assistant_tokens == 1 and s.dropped_origins == ["shard.jsonl:7"]
    t = tokenize_records(tok, [big, ok], 128, "truncate")
    assert len(t.rows) == 2 and t.truncated == 1


def test_a_window_opens_at_the_user_turn_it_answers_never_mid_air(tok) -> None:
    """Two tasks in one session: windows of the second start with the second task (marked as coming
    after elided history), never with an assistant turn or a tool result alone."""
    msgs = session(4)
    msgs.append({"role": "user", "content": "TASK2: now add a regression test."})
    for i in range(4, 8):
        msgs.append({"role": "assistant", "content": f"step {i}: reading.", "tool_calls": [call(i)]})
        msgs.append({"role": "tool", "name": "read", "content": f"RESULT_{i} " + "x = 1\n" * 6})
    msgs.append({"role": "assistant", "content": "FINAL2: test added."})
    w = split_windows(tok, msgs, 176)
    assert w.dropped_turns == 0
    texts = [tok.decode(e["input_ids"]) for e in w.encodings]
    later = [t for t in texts if "FINAL2" in t or "step 6:" in t]
    assert later
    for t in texts:
        first_turn = t.split("<|im_end|>\n<|im_start|>", 2)[1]  # after the system prompt
        assert first_turn.startswith("user\n")
    for t in later:
        assert "TASK2: now add a regression test." in t and "TASK:" not in t
    assert any("earlier messages elided …]\n\nTASK2:" in t for t in texts)  # the second task opens a window


def test_a_turn_after_a_huge_tool_output_gets_a_window_with_the_output_elided(tok) -> None:
    """The turn is learned whole; the tool result before it (and a long task) keep head and tail."""
    msgs = session(3)
    msgs[3] = {**msgs[3], "content": "HEAD_OF_LOG " + "line of build output\n" * 400 + " TAIL_OF_LOG"}
    w = split_windows(tok, msgs, 256)
    assert w.dropped_turns == 0 and w.shrunk == 1
    text = "".join(tok.decode(e["input_ids"]) for e in w.encodings)
    assert "HEAD_OF_LOG" in text and "TAIL_OF_LOG" in text and "characters elided …]" in text
    learned_all = "".join(learned(tok, e) for e in w.encodings)
    for i in range(3):
        assert learned_all.count(f"step {i}: reading.") == 1
    assert "FINAL: the bug is in file_3.py." in learned_all
