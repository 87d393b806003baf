#!/usr/bin/env python3
"""A tiny dense Qwen3.5 text model whose config uses YaRN (`rope_parameters.rope_type = "yarn"`), with
transformers reference logits for a prompt longer than the original window.

Written for QwenKit's issue 13 (positions and RoPE scaling), after shared/tools/make_models.py: same
checkpoint layout and init rules, cut down to what the RoPE check needs (flat `qwen3_5_text` export read by
`Qwen3_5ForCausalLM`, no vision tower, no MTP head, no tokenizer).

The rope dims and theta are picked so that YaRN's ramp crosses the middle of the rotary pairs (R = 16 rotary
dims, θ = 1e4, original window 64: pair 0 keeps its frequency, pairs 1-2 are blended, 3-7 interpolated by 4),
and the prompt (200 tokens) runs past the original window into the scaled one (4 × 64 = 256).

Writes, under OUT (default: the folder above this script):
  models/qwen35-yarn-tiny/{config.json, generation_config.json, model.safetensors}
  references/qwen35-yarn-tiny.safetensors   input_ids [T] (i64), logits [T, V], greedy_ids [N] (i64),
                                            decode_logits [N, V], split_logits [T - S, V] (prompt fed as
                                            S then T - S tokens), inv_freq [R/2], attention_scaling [1]
  references/qwen35-yarn-tiny.json          the same numbers' provenance: versions, margins, checks

Usage: python3 make_yarn_fixture.py [OUT]    (torch CPU + transformers 5.23, float32, eager attention)
"""
import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import Qwen3_5ForCausalLM, Qwen3_5TextConfig

torch.set_num_threads(2)
NAME, SEED, T, N_DECODE, SPLIT = "qwen35-yarn-tiny", 3002, 200, 12, 64
VOCAB, HIDDEN = 256, 64

CONFIG = {
    "architectures": ["Qwen3_5ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "attn_output_gate": True,
    "dtype": "float32",
    "eos_token_id": VOCAB - 8,
    "head_dim": 32,
    "hidden_act": "silu",
    "hidden_size": HIDDEN,
    "intermediate_size": 128,
    "layer_types": ["linear_attention", "full_attention"],
    "linear_conv_kernel_dim": 4,
    "linear_key_head_dim": 16,
    "linear_num_key_heads": 2,
    "linear_num_value_heads": 4,
    "linear_value_head_dim": 32,
    "mamba_ssm_dtype": "float32",
    # As in the released YaRN recipe: max_position_embeddings stays the original window, the factor stretches it.
    "max_position_embeddings": 64,
    "model_type": "qwen3_5_text",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_parameters": {
        "mrope_interleaved": True,
        "mrope_section": [3, 3, 2],
        "rope_type": "yarn",
        "rope_theta": 10000,
        "partial_rotary_factor": 0.5,
        "factor": 4.0,
        "original_max_position_embeddings": 64,
    },
    "tie_word_embeddings": False,
    "transformers_version": transformers.__version__,
    "use_cache": True,
    "vocab_size": VOCAB,
}


def init_tensor(name, shape):
    """make_models.py's init rules for the text tensors (seeded per tensor name)."""
    rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])

    def normal(std, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    if name.endswith("embed_tokens.weight"):
        return normal(1.0)
    if name == "lm_head.weight":
        return normal(2.0 / math.sqrt(HIDDEN))
    if name.endswith("linear_attn.A_log"):
        return rng.uniform(np.log(0.03), np.log(3.0), size=shape).astype(np.float32)
    if name.endswith("linear_attn.dt_bias"):
        return normal(1.0, -1.0)
    if name.endswith("linear_attn.norm.weight"):
        return normal(0.2, 1.0)
    if name.endswith("conv1d.weight"):
        return normal(0.45)
    if len(shape) == 1:
        return normal(0.2)
    return normal(1.0 / math.sqrt(shape[-1]))


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    model_dir, ref_dir = out / "models" / NAME, out / "references"
    model_dir.mkdir(parents=True, exist_ok=True)
    ref_dir.mkdir(parents=True, exist_ok=True)

    cfg = Qwen3_5TextConfig.from_dict(json.loads(json.dumps(CONFIG)))
    with torch.device("meta"):
        shapes = {n: tuple(p.shape) for n, p in Qwen3_5ForCausalLM(cfg).named_parameters()}
    weights = {n: torch.from_numpy(init_tensor(n, shapes[n])).contiguous() for n in sorted(shapes)}
    (model_dir / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    gen = {"bos_token_id": VOCAB - 8, "eos_token_id": [VOCAB - 6, VOCAB - 8], "pad_token_id": VOCAB - 8,
           "transformers_version": transformers.__version__}
    (model_dir / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    save_file(weights, str(model_dir / "model.safetensors"), metadata={"format": "pt"})

    model, info = Qwen3_5ForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32,
                                                    attn_implementation="eager", output_loading_info=True)
    model.eval()
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    sd = model.state_dict()
    assert all(torch.equal(sd[n], w) for n, w in weights.items()), "a tensor was not loaded from the file"
    rotary = model.model.rotary_emb
    assert rotary.rope_type == "yarn", rotary.rope_type

    rng = np.random.default_rng([SEED, 7919])
    ids = torch.tensor(rng.integers(0, VOCAB - 8, size=T), dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=ids[None], use_cache=False).logits[0]                       # [T, V]
        first = model(input_ids=ids[None, :SPLIT], use_cache=True)
        split = model(input_ids=ids[None, SPLIT:], past_key_values=first.past_key_values, use_cache=True)
        split_logits = split.logits[0]                                                       # [T - S, V]
        out_ = model(input_ids=ids[None], use_cache=True)
        cache, row = out_.past_key_values, out_.logits[0, -1]
        greedy, decode_rows, margins = [], [], []
        for _ in range(N_DECODE):
            decode_rows.append(row)
            top = torch.topk(row, 2).values
            margins.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(row))
            greedy.append(nxt)
            step = model(input_ids=torch.tensor([[nxt]]), past_key_values=cache, use_cache=True)
            cache, row = step.past_key_values, step.logits[0, -1]
        decode_logits = torch.stack(decode_rows)                                             # [N, V]
        # Teacher forcing: the full forward over prompt + greedy ids must give the same rows.
        tf = model(input_ids=torch.cat([ids, torch.tensor(greedy[:-1])])[None], use_cache=False).logits[0, T - 1:]

    tensors = {
        "input_ids": ids, "logits": logits, "greedy_ids": torch.tensor(greedy, dtype=torch.long),
        "decode_logits": decode_logits, "split_logits": split_logits,
        "inv_freq": rotary.inv_freq.float(), "attention_scaling": torch.tensor([float(rotary.attention_scaling)]),
    }
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(ref_dir / f"{NAME}.safetensors"))
    checks = {
        "split_vs_full_max_abs": float((split_logits - logits[SPLIT:]).abs().max()),
        "decode_vs_teacher_forcing_max_abs": float((decode_logits - tf).abs().max()),
        "min_greedy_margin": min(margins),
    }
    meta = {"model": NAME, "torch": torch.__version__, "transformers": transformers.__version__,
            "prompt_tokens": T, "decode_steps": N_DECODE, "split_at": SPLIT,
            "inv_freq": rotary.inv_freq.tolist(), "attention_scaling": float(rotary.attention_scaling),
            "checks": checks, "margins": margins}
    (ref_dir / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(checks), "inv_freq", [round(x, 6) for x in rotary.inv_freq.tolist()],
          "attention_scaling", rotary.attention_scaling)


if __name__ == "__main__":
    main()
