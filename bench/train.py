"""Training throughput: tokens/s, step time, peak memory and (on GPU) MFU.

    python bench/train.py                       # CPU: LoRA on models/base, packing off and on
    python bench/train.py --steps 6 --packing off
    python bench/train.py --gpu                 # CUDA: QLoRA on models/base + a 7B-shaped Llama at 2048

Every case runs the real stage code (tracelora.model.training.train) in a fresh subprocess, so peak
memory (RSS on CPU, torch.cuda.max_memory_allocated on GPU) belongs to that case alone.
tokens/s counts non-padding tokens. MFU = model FLOPs / (seconds x measured bf16 matmul peak of the
same device); model FLOPs per token for LoRA on a frozen base = 2 x (2N + 4 L s d): forward plus
the activation-gradient backward (no weight gradients for the frozen base; recomputation under
gradient checkpointing is not counted, the PaLM convention). Figures print; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bf16_matmul_peak_tflops(n: int = 8192, iters: int = 20) -> float:
    import torch

    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * iters / (time.perf_counter() - t) / 1e12


def model_flops_per_token(cfg: object, seq: int) -> float:
    d, layers = cfg.hidden_size, cfg.num_hidden_layers
    inter, vocab = cfg.intermediate_size, cfg.vocab_size
    kv = d * getattr(cfg, "num_key_value_heads", cfg.num_attention_heads) // cfg.num_attention_heads
    n_linear = layers * (2 * d * d + 2 * d * kv + 3 * d * inter) + d * vocab
    return 2 * (2 * n_linear + 4 * layers * seq * d)


def make_7b(out: Path) -> Path:
    """A Llama-2-7B-shaped model with random bf16 weights (the memory and speed of the real one)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096, dtype="bfloat16")
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    model.to_empty(device="cpu")
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    return out


def one_case(case: dict) -> dict:
    """Run inside a fresh process: train a few steps, return the figures."""
    import torch

    from tracelora.common.params import TrainParams
    from tracelora.model.training import MethodChoice, TokenizedSet, tokenize_records, train
    from tracelora.formats.shards import load_records

    base = case["base"]
    if case.get("synthetic_len"):  # random tokens, every one learned: the 7B memory/speed case
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(100, 30000, (case["steps"] * case["batch"] + 2, case["synthetic_len"]), generator=g)
        rows = TokenizedSet(rows=[{"input_ids": r.tolist(), "assistant_masks": [1] * len(r)} for r in ids])
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(base)
        rows = tokenize_records(tok, load_records([case["data"]]), case["max_length"])
    p = TrainParams(max_steps=case["steps"], per_device_batch_size=case["batch"], gradient_accumulation_steps=1,
                    max_length=case["max_length"], logging_steps=1, save_steps=0, packing=case["packing"],
                    lora_layers=case.get("lora_layers", 0), gradient_checkpointing=case.get("gc", False),
                    method=case["method"], group_by_length=not case["packing"])
    cuda = torch.cuda.is_available()
    choice = MethodChoice(case["method"], case["method"] if cuda else "lora", "cuda" if cuda else "cpu")
    with tempfile.TemporaryDirectory() as ck:
        m = train(base, rows, TokenizedSet(), p, choice, Path(ck))["metrics"]
    out = {"case": case["name"], "steps": m["steps"], "tokens": m["tokens_seen"], "seconds": m["train_seconds"],
           "tokens_per_s": m["tokens_per_second"], "step_s": round(m["train_seconds"] / max(1, m["steps"]), 3),
           "peak_memory_mb": m["peak_memory_mb"], "memory_kind": "cuda max allocated" if cuda else "RSS",
           "precision": m["precision"], "method": m["method"]}
    if cuda:
        from transformers import AutoConfig

        flops = model_flops_per_token(AutoConfig.from_pretrained(base), case["max_length"]) * m["tokens_seen"]
        out["peak_tflops"] = round(bf16_matmul_peak_tflops(), 1)
        out["achieved_tflops"] = round(flops / m["train_seconds"] / 1e12, 2)
        out["mfu"] = round(out["achieved_tflops"] / out["peak_tflops"], 3)
    return out


def run_case(case: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--one", json.dumps(case)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"case": case["name"], "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1][len("RESULT "):])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=str(ROOT / "models" / "base"))
    ap.add_argument("--data", default=str(ROOT / "data" / "dataset" / "train.jsonl"))
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--packing", choices=["off", "on", "both"], default="both")
    ap.add_argument("--lora-layers", type=int, default=12, help="as the shipped params (0 = all layers)")
    ap.add_argument("--gpu", action="store_true", help="GPU cases: QLoRA on --base and on a 7B-shaped Llama")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        from tracelora.common.log import quiet_libraries

        quiet_libraries()
        print("RESULT " + json.dumps(one_case(json.loads(args.one))), flush=True)
        return 0
    common = {"base": args.base, "data": args.data, "steps": args.steps, "batch": args.batch,
              "max_length": args.max_length, "lora_layers": args.lora_layers}
    cases = []
    if args.gpu:
        import torch

        if not torch.cuda.is_available():
            print("bench/train.py --gpu: no CUDA device here; GPU figures stay open (skipped)")
            return 0
        cases.append({**common, "name": "qlora-smollm2", "method": "qlora", "packing": False})
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            seven = make_7b(Path(tmp) / "llama7b")
            cases.append({**common, "name": "qlora-7b-2048", "base": str(seven), "method": "qlora", "packing": False,
                          "synthetic_len": 2048, "max_length": 2048, "batch": 1, "lora_layers": 0, "gc": True})
            results = [run_case(c) for c in cases]
    else:
        modes = {"off": [False], "on": [True], "both": [False, True]}[args.packing]
        results = [run_case({**common, "name": f"lora-cpu-packing-{'on' if m else 'off'}", "method": "lora",
                             "packing": m}) for m in modes]
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
