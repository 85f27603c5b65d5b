#!/usr/bin/env python3
"""Transformers' teacher-forced logits on the real 450M / 1.6B shapes, for the CUDA backend's comparison test.

Runs on the GPU host in the same call as the Java test (io.lfmcap.cuda.CudaTransformersComparisonTest):

  python3 tools/parity/gpu_peer_logits.py OUT CKPT VARIANTS_JSON 450m,1.6b [PROMPTS] [POSITIONS]

For each variant: builds the random model exactly as the peer baseline does (hf_baseline.py: torch seed 0,
Lfm2VlConfig(**variants[name]) on cuda, cast to bf16) and saves it to CKPT/<name> (config.json +
model.safetensors, bf16); makes PROMPTS inputs of one synthetic 512x512 image each (pixel_values drawn
uniformly in [-1, 1], 32x32 patches, as hf_baseline.py does) with hf_baseline's prompt layout and POSITIONS
teacher-forced tokens; runs
  - the reference: the saved checkpoint loaded in fp32 (exact upcast of the bf16 weights), eager attention,
    no TF32;
  - the peer: the bf16 model as users run it (default attention);
and writes OUT/<name>_{ids.i32, pixels.f32, fp32.f32, bf16.f32} (little-endian, row-major: ids
[PROMPTS, prompt_len + POSITIONS], pixels [PROMPTS, 1024, 768], logits [PROMPTS, POSITIONS, vocab] at the
positions that predict each forced token) and OUT/meta.json.
"""
import json
import os
import sys
import time

import numpy as np
import torch
from transformers import Lfm2VlConfig, Lfm2VlForConditionalGeneration

out_dir, ckpt_dir, variants_path, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
prompts = int(sys.argv[5]) if len(sys.argv) > 5 else 20
positions = int(sys.argv[6]) if len(sys.argv) > 6 else 32
variants = json.load(open(variants_path))
os.makedirs(out_dir, exist_ok=True)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

SIDE = 32  # 512 / 16 patches per side
PRE = [1, 6, 1098, 1010, 498]                                   # as hf_baseline.py
POST = [499] + list(range(5000, 5010)) + [7, 1010, 6, 64015, 1010]


def logits_of(model, ids, pix, batch=4):
    rows = []
    n = ids.shape[0]
    for b in range(0, n, batch):
        i = ids[b:b + batch].cuda()
        p = pix[b:b + batch].cuda().to(model.dtype)
        k = i.shape[0]
        with torch.no_grad():
            out = model(input_ids=i, attention_mask=torch.ones_like(i), pixel_values=p,
                        pixel_attention_mask=torch.ones(k, SIDE * SIDE, dtype=torch.long, device="cuda"),
                        spatial_shapes=torch.tensor([[SIDE, SIDE]] * k, device="cuda"))
        rows.append(out.logits.float()[:, prompt_len - 1:prompt_len - 1 + positions, :].cpu())
    return torch.cat(rows).contiguous()


meta = {"models": []}
for name in names:
    t0 = time.time()
    torch.manual_seed(0)
    cfg = Lfm2VlConfig(**variants[name])
    with torch.device("cuda"):
        model = Lfm2VlForConditionalGeneration(cfg).to(torch.bfloat16).eval()
    path = os.path.join(ckpt_dir, name)
    model.save_pretrained(path)
    ntok = SIDE * SIDE // cfg.downsample_factor ** 2
    prompt = PRE + [cfg.image_token_id] * ntok + POST
    prompt_len = len(prompt)
    g = torch.Generator().manual_seed(1234)
    forced = torch.randint(1000, 60000, (prompts, positions), generator=g)
    ids = torch.cat([torch.tensor([prompt] * prompts), forced], dim=1)          # [P, L + positions]
    pix = torch.rand(prompts, SIDE * SIDE, 3 * cfg.vision_config.patch_size ** 2, generator=g) * 2 - 1
    # the model sees prompt + forced[:-1]; the logits at prompt_len-1+j predict forced[j]
    inputs = ids[:, :prompt_len + positions - 1]
    bf16 = logits_of(model, inputs, pix)
    del model
    torch.cuda.empty_cache()
    ref = Lfm2VlForConditionalGeneration.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").cuda().eval()
    fp32 = logits_of(ref, inputs, pix)
    del ref
    torch.cuda.empty_cache()
    ids.to(torch.int32).numpy().astype("<i4").tofile(os.path.join(out_dir, name + "_ids.i32"))
    pix.numpy().astype("<f4").tofile(os.path.join(out_dir, name + "_pixels.f32"))
    fp32.numpy().astype("<f4").tofile(os.path.join(out_dir, name + "_fp32.f32"))
    bf16.numpy().astype("<f4").tofile(os.path.join(out_dir, name + "_bf16.f32"))
    agree = (fp32.argmax(-1) == bf16.argmax(-1)).float().mean().item()
    err = ((fp32 - bf16).norm() / fp32.norm()).item()
    print(f"{name}: transformers bf16 vs fp32: top-1 agreement {agree:.4f}, relative error {err:.3e} "
          f"({prompts} prompts x {positions} positions, {time.time() - t0:.0f} s)", flush=True)
    meta["models"].append({"name": name, "checkpoint": os.path.abspath(path), "prompts": prompts, "positions": positions,
                           "vocab": cfg.text_config.vocab_size, "prompt_length": prompt_len, "grid": SIDE,
                           "patch_dim": 3 * cfg.vision_config.patch_size ** 2})
json.dump(meta, open(os.path.join(out_dir, "meta.json"), "w"), indent=1)
