"""Batched greedy generation: left padding, length-sorted batches, KV cache, inference mode."""
from __future__ import annotations

from typing import Any

from tqdm import tqdm

from stages.lib.chat_format import render


def generate(model: Any, tokenizer: Any, prompts: list[list[dict[str, Any]]], max_new_tokens: int,
             batch_size: int, max_prompt_length: int, desc: str = "generate") -> list[str]:
    """Return one completion per prompt (in input order). Prompts longer than max_prompt_length
    keep their last tokens, where the turn being answered is."""
    import torch

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    encoded = [tokenizer(render(tokenizer, p, add_generation_prompt=True), add_special_tokens=False)["input_ids"][-max_prompt_length:]
               for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    outputs: list[str] = [""] * len(prompts)
    device = next(model.parameters()).device
    stop = [t for t in {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")} if isinstance(t, int) and t >= 0]
    model.eval()
    with torch.inference_mode():
        for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", disable=None):
            idx = order[start:start + batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt").to(device)
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                                 eos_token_id=stop, pad_token_id=tokenizer.pad_token_id)
            for row, i in enumerate(idx):
                new = out[row, batch["input_ids"].shape[1]:]
                outputs[i] = tokenizer.decode(new, skip_special_tokens=True).strip()
    return outputs
