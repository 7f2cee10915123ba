"""Batched greedy generation: left padding, length-sorted batches, KV cache, inference mode.

Why each: left padding keeps every prompt's last token at the same position so one `generate`
call serves a whole batch; sorting by length keeps padding (wasted compute) small; the KV cache
makes each new token cost one position, not the whole prefix; inference mode drops autograd
bookkeeping. Greedy decoding makes the outputs reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from tracelora.formats.chat_format import render


@dataclass
class GenerationStats:
    """Totals over one or more `generate` calls; `generated_tokens` stops at each row's end-of-turn."""
    prompts: int = 0
    batches: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    truncated_prompts: int = 0


def encode_prompts(tokenizer: Any, prompts: list[list[dict[str, Any]]], max_prompt_length: int,
                   tools: list[list[dict[str, Any]] | None] | None = None) -> tuple[list[list[int]], int]:
    """Token ids per prompt (chat template + generation prompt, rendered exactly as in training,
    with the record's tool schemas for native tool templates); prompts longer than
    max_prompt_length keep their last tokens, where the turn being answered is."""
    encoded, truncated = [], 0
    for i, p in enumerate(prompts):
        text = render(tokenizer, p, add_generation_prompt=True, tools=tools[i] if tools else None)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        truncated += len(ids) > max_prompt_length
        encoded.append(ids[-max_prompt_length:])
    return encoded, truncated


def generate(model: Any, tokenizer: Any, prompts: list[list[dict[str, Any]]], max_new_tokens: int,
             batch_size: int, max_prompt_length: int, desc: str = "generate",
             stats: GenerationStats | None = None, tools: list[list[dict[str, Any]] | None] | None = None) -> list[str]:
    """Return one completion per prompt, in input order."""
    encoded, truncated = encode_prompts(tokenizer, prompts, max_prompt_length, tools)
    return generate_ids(model, tokenizer, encoded, max_new_tokens, batch_size, desc, stats, truncated)


def generate_ids(model: Any, tokenizer: Any, encoded: list[list[int]], max_new_tokens: int, batch_size: int,
                 desc: str = "generate", stats: GenerationStats | None = None, truncated: int = 0) -> list[str]:
    import torch

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), i))
    outputs: list[str] = [""] * len(encoded)
    device = next(model.parameters()).device
    stop = sorted(t for t in {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
                  if isinstance(t, int) and t >= 0)
    st = stats if stats is not None else GenerationStats()
    st.prompts += len(encoded)
    st.truncated_prompts += truncated
    model.eval()
    with torch.inference_mode():
        for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", disable=None):
            idx = order[start:start + batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt").to(device)
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                                 eos_token_id=stop, pad_token_id=tokenizer.pad_token_id)
            st.batches += 1
            width = batch["input_ids"].shape[1]
            for row, i in enumerate(idx):
                new = out[row, width:].tolist()
                st.prompt_tokens += len(encoded[i])
                st.generated_tokens += next((k + 1 for k, t in enumerate(new) if t in stop), len(new))
                outputs[i] = tokenizer.decode(new, skip_special_tokens=True).strip()
    return outputs
