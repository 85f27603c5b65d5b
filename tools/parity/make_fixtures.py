#!/usr/bin/env python3
"""Reference fixtures for the Java port of LFM2-VL / LFM2.5-VL (fp32 parity against transformers).

Writes everything under OUTDIR (argument); the lead copies it to runtime/src/test/resources/parity/.

  OUTDIR/tokenizer/tokenizer.json     small byte-level BPE shaped like LFM2's (LLaMA-3 split regex,
                                      ignore_merges, LFM2 special tokens at their real ids 0..500)
  OUTDIR/tokenizer/cases.json         strings and their ids (tokenizers, add_special_tokens=False)
  OUTDIR/images/*.png                 synthetic source images (RGB, grayscale "L", RGBA)
  OUTDIR/<model>/checkpoint/          random tiny model, fp32 safetensors + processor/tokenizer files
  OUTDIR/<model>/<image>/views/       processor views recovered losslessly from pixel_values
  OUTDIR/<model>/<image>/tensors.safetensors, meta.json
  OUTDIR/README.md

Stages: "tokenizer" and "images" need only tokenizers, numpy and PIL; "models" needs torch and
transformers (reference: transformers 5.17, torch 2.11, CPU, fp32, eager attention).

Usage: python3 tools/parity/make_fixtures.py OUTDIR [--stages tokenizer,images,models]
Spec: shared/docs/model-lfm2-vl.md (sections 1.4, 1.5, 2-4, 6, 8 and the addendum).
"""
import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

SEED = 20261128
VOCAB_SIZE = 1024
IMAGE_TOKEN_ID = 396
PROMPT_TEXT = "Describe this image."
MAX_NEW_TOKENS = 20

# LFM2 byte-level pre-tokenizer: llama.cpp maps tokenizer_pre "lfm2" to its LLAMA3 pre-type, whose
# original tokenizer.json regex is this one (digits in runs of at most three), with ignore_merges.
SPLIT_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# LFM2-VL chat template (LiquidAI/LFM2-VL-450M chat_template.jinja, section 4 of the spec).
CHAT_TEMPLATE = (
    "{{bos_token}}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}{{ '<image>' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{{'<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{'<|im_start|>assistant\n' }}{% endif %}"
)
MESSAGES = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT_TEXT}]}]


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------

def special_tokens():
    """LFM2 special tokens at their exact ids 0..500 (spec 1.5); unknown ids get placeholders."""
    named = {
        0: "<|pad|>", 1: "<|startoftext|>", 2: "<|endoftext|>",
        3: "<|fim_pre|>", 4: "<|fim_mid|>", 5: "<|fim_suf|>",
        6: "<|im_start|>", 7: "<|im_end|>",
        8: "<|tool_list_start|>", 9: "<|tool_list_end|>",
        10: "<|tool_call_start|>", 11: "<|tool_call_end|>",
        12: "<|tool_response_start|>", 13: "<|tool_response_end|>",
        396: "<image>", 497: "<|img_thumbnail|>", 498: "<|image_start|>",
        499: "<|image_end|>", 500: "<|image_split|>",
    }
    for r in range(1, 11):
        for c in range(1, 11):
            named[397 + 10 * (r - 1) + (c - 1)] = f"<|img_row_{r}_col_{c}|>"
    # LFM2 numbers its reserved tokens as id - 10 (<|reserved_6|> is id 16).
    return [named.get(i, f"<|reserved_{i - 10}|>") for i in range(501)]


CORPUS = """
The quick brown fox jumps over the lazy dog. A picture is worth a thousand words.
Describe this image. This image shows a cat sitting on a red sofa next to a window.
In this image, we see a dog and a cat lying on a pink blanket. They are both sleeping.
The statue is made of metal and stands tall on its pedestal near the water.
A photograph of a city street at night, with cars, lights, people and tall buildings.
There is a small boat on the lake, and the mountains are covered with snow in the distance.
The image shows a bowl of fruit: apples, oranges, bananas and grapes on a wooden table.
Two children are playing football in the park while their parents watch from a bench.
I'm sure it's fine; we're going, they've seen it, she'll come, he'd know, don't worry.
What's in the picture? It's a chart with numbers from 2019 to 2024 and a red line.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 512 1024 2048 3.14159 1,000,000 2024-11-28 12:30.
def caption(image, model):
    tokens = model.generate(image, max_new_tokens=64)
    return tokenizer.decode(tokens)

for (int i = 0; i < n; i++) {
    sum += values[i] * weights[i];
}
public static void main(String[] args) { System.out.println("hello, world"); }
import numpy as np; x = np.zeros((3, 512, 512), dtype=np.float32)
SELECT id, caption FROM images WHERE width > 512 AND height > 512;
{"image": "cat.png", "caption": "A cat on a sofa.", "tokens": [1, 6, 396, 7]}
Le café est très bon. Ça va? Où est la gare? Naïve résumé façade.
Die Straße ist schön. Größe, Übung, Ärger. El niño comió paella en España.
日本語のテキストです。中文字符测试。한국어 문장입니다。こんにちは世界。
Привет, мир! Как дела? Ελληνικά γράμματα. שלום עולם. مرحبا بالعالم. हिन्दी भाषा.
Tiếng Việt rất đẹp. ไทย ภาษา. Emoji: 🙂 👍 🎉 ❤️ 🐱 🐶 🌍.
"""


def tokenizer_cases():
    cases = [
        "", " ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", "\n\n\n", " \n", "\n ", "\t\n \t\n",
        "hello", "Hello", "Hello world", "Hello  world", "Hello   world  ", "hello\tworld",
        "line1\nline2", "line1\r\nline2\r\n", "trailing space ", "trailing spaces   ", " leading",
        "   leading three", "a\n\n\nb", "tabs\t\t\tand spaces   \t", "word\n\n  indented",
        "    four spaces", "end with newline\n", "end with crlf\r\n", " " * 40, "x" * 120,
        "I'm", "don't", "we're", "they've", "she'll", "he'd", "it's", "IT'S", "DON'T", "We'RE",
        "y'all", "rock 'n' roll", "'s", "the dog's bone", "O'Neil's", "can't won't shouldn't",
        "'twas", "I'M HERE", "it’s (curly)", "'ll'd've",
        "0", "7", "42", "123", "1234", "12345", "123456", "1234567", "3.14159", "1,000,000",
        "2024-11-28", "12:30:45", "+1 (555) 123-4567", "0x1F3A", "1e-5", "-273.15", "v1.2.3",
        "99 bottles", "abc123def", "٣٤٥", "１２３", "½ ¾", "x² + y³", "2^10=1024",
        "Hello, world!", "Wait... what?!", "«quoted»", "“smart quotes”", "‘single’", "em—dash – en",
        "a/b\\c", "(parens) [brackets] {braces}", "@user #tag $5 %20 ^ & * ~ `", "?!?!", "...",
        "---", "***bold***", "<html><body>", "a->b => c", "x != y && y <= z", "!!!\n\n", ";;\r\n",
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
        "import numpy as np", "console.log(\"hi\");", "SELECT * FROM t WHERE id = 1;",
        "#include <stdio.h>", "  if x:\n      pass", "{\"key\": [1, 2, 3]}", "print('hello')  # comment",
        "λx.x+1", "fn main() { println!(\"{}\", 42); }", "a_b_c = 1_000_000", "x\t=\t1\r\n",
        "HELLO", "hELLO", "CamelCaseWord", "snake_case_word", "kebab-case-word", "iPhone", "McDonald",
        "ALLCAPS and lower", "MiXeD CaSe", "The The THE the",
        "café", "naïve", "résumé", "Ångström", "straße", "ÉCOLE", "ﬁ ligature", "日本語", "中文字符测试",
        "한국어", "こんにちは世界", "Привет мир", "Ελληνικά", "שלום עולם", "مرحبا بالعالم", "हिन्दी", "ไทย",
        "Tiếng Việt", " Việt", "🙂", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇯🇵", "emoji 🎉 party", "❤️",
        "e\u0301 (combining acute)", "a\u0308\u0304", "Z\u0364\u0351a\u0308\u0356l\u036eg\u030c",
        "\u200b zero width", "\ufeffBOM", "non\u00a0breaking", "\u3000ideographic space",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0001F600\U0001F601", "mixed 日本 and English", "Ω≈ç√∫", "µ vs μ", "İstanbul",
        "ǅ titlecase", "Ｆｕｌｌｗｉｄｔｈ", "\u0645\u0631\u062d\u0628\u0627 123 abc",
        "<|im_start|>user\nhi<|im_end|>\n", "<image>", "text<image>text", "<image><image>",
        "<|img_row_2_col_3|>", "<|image_start|><image><|image_end|>", "<|startoftext|>Hello",
        "<|img_thumbnail|> thumb", "<|im_end|>", "<|pad|><|endoftext|>", "<|img_row_10_col_10|>",
        "not <|special|> token", "<|im_start", "< image >", "<|img_row_11_col_1|>",
        "<|tool_call_start|>[f()]<|tool_call_end|>", " <image> ", "\n<image>\n",
        "<|image_start|><|img_row_1_col_1|><image><image><|img_thumbnail|><image><|image_end|>",
        "<|startoftext|><|im_start|>user\n<image>Describe this image.<|im_end|>\n<|im_start|>assistant\n",
        "Describe this image.", "In this image, we see", "The quick brown fox jumps over the lazy dog.",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "a" * 30, "ab" * 25,
        "This image shows a cat sitting on a red sofa next to a window.",
        "A photograph of a city street at night, with cars, lights, people and tall buildings.",
    ]
    cases += ["1234567890123456789012"[:n] for n in range(1, 21)]
    for ws in [" ", "  ", "   ", "\t", "\n", "\r\n", " \n", "\n ", "\n\n", " \t "]:
        cases += [f"word{ws}word", f"{ws}word", f"word{ws}"]
    for w in ["image", "cat", "sofa", "window", "street", "mountains", "football", "picture",
              "numbers", "values"]:
        cases += [" " + w, w.capitalize(), " " + w.upper()]
    seen, unique = set(), []
    for c in cases:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    assert len(unique) >= 220, len(unique)
    return unique


def build_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
        special_tokens=special_tokens(), initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    lines = [l for l in CORPUS.split("\n")]
    tok.train_from_iterator(lines * 3 + [CORPUS] * 3, trainer=trainer)
    tok.model.ignore_merges = True  # the trainer rebuilds the model; keep LLaMA-3 style lookup
    # BOS-only template like LFM2 (add_bos_token true); the chat path tokenizes without it.
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A", pair="<|startoftext|> $A <|startoftext|> $B:1",
        special_tokens=[("<|startoftext|>", 1)])
    specials = special_tokens()
    for i, s in enumerate(specials):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s), i)
    return tok


def tokenizer_stage(out: Path, versions: dict):
    import tokenizers
    tok = build_tokenizer()
    tdir = out / "tokenizer"
    tdir.mkdir(parents=True, exist_ok=True)
    tok.save(str(tdir / "tokenizer.json"))
    tok = tokenizers.Tokenizer.from_file(str(tdir / "tokenizer.json"))  # what the Java side reads
    cases = []
    for text in tokenizer_cases():
        enc = tok.encode(text, add_special_tokens=False)
        decoded = tok.decode(enc.ids, skip_special_tokens=False)
        cases.append({"text": text, "ids": enc.ids, "tokens": enc.tokens, "decoded": decoded})
    with_bos = [{"text": t, "ids": tok.encode(t, add_special_tokens=True).ids}
                for t in ["", "Hello world", "<image>", "Describe this image."]]
    doc = {
        "tokenizers_version": tokenizers.__version__,
        "transformers_version": versions.get("transformers"),
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "ids_from": "tokenizers.Tokenizer.from_file(tokenizer.json).encode(text, add_special_tokens=False).ids",
        "decoded_from": "decode(ids, skip_special_tokens=False)",
        "cases": cases,
        "cases_with_special_tokens": with_bos,
    }
    write_json(tdir / "cases.json", doc)
    print(f"tokenizer: vocab {doc['vocab_size']}, {len(cases)} cases")
    return tok


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

IMAGES = [  # name, width, height, PIL mode
    ("rgb_512x512", 512, 512, "RGB"),
    ("rgb_640x480", 640, 480, "RGB"),
    ("rgb_2000x200", 2000, 200, "RGB"),
    ("rgb_1024x768", 1024, 768, "RGB"),
    ("gray_300x300", 300, 300, "L"),
    ("rgba_400x320", 400, 320, "RGBA"),
]


def synth_rgb(w, h, seed):
    """Smooth gradients + flat shapes + a textured patch + sparse speckle (compresses well)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([
        255.0 * x / max(w - 1, 1),
        255.0 * y / max(h - 1, 1),
        127.5 + 100.0 * np.sin(x / (w / 7.0 + 3) + y / (h / 5.0 + 3)),
    ], axis=-1)
    for _ in range(6):  # discs
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.05, 0.2) * min(w, h) + 4
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 256, 3)
    for _ in range(4):  # rectangles
        x0, y0 = int(rng.uniform(0, w * 0.8)), int(rng.uniform(0, h * 0.8))
        x1, y1 = x0 + int(rng.uniform(0.05, 0.25) * w) + 2, y0 + int(rng.uniform(0.05, 0.25) * h) + 2
        img[y0:y1, x0:x1] = rng.integers(0, 256, 3)
    stripes = ((x + 2 * y) // 6) % 2 == 0  # a band of thin diagonal stripes (high frequency)
    band = (y > h * 0.45) & (y < h * 0.55)
    img[stripes & band] = 0.5 * img[stripes & band]
    tw, th = max(8, w // 8), max(8, h // 8)  # textured patch of full noise
    tx, ty = int(w * 0.7), int(h * 0.15)
    img[ty:ty + th, tx:tx + tw] = rng.integers(0, 256, (min(th, h - ty), min(tw, w - tx), 3))
    speckle = rng.random((h, w)) < 0.002
    img[speckle] = rng.integers(0, 256, (int(speckle.sum()), 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def synth_image(name, w, h, mode, seed):
    from PIL import Image
    rgb = synth_rgb(w, h, seed)
    if mode == "RGB":
        return Image.fromarray(rgb, "RGB")
    if mode == "L":
        gray = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).round().astype(np.uint8)
        return Image.fromarray(gray, "L")
    assert mode == "RGBA"
    y, x = np.mgrid[0:h, 0:w]
    alpha = np.clip(np.rint(255.0 * x / (w - 1)), 0, 255).astype(np.uint8)  # left transparent -> opaque
    alpha[: h // 5, :] = 0                       # a fully transparent band (its RGB still stored)
    alpha[h - h // 5:, :] = 255                  # a fully opaque band
    alpha[(x - w * 0.6) ** 2 + (y - h * 0.5) ** 2 < (h * 0.15) ** 2] = 128
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def images_stage(out: Path):
    idir = out / "images"
    idir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for k, (name, w, h, mode) in enumerate(IMAGES):
        p = idir / f"{name}.png"
        synth_image(name, w, h, mode, SEED + k).save(p, optimize=True)
        size = p.stat().st_size
        assert size < 300_000, (p, size)
        print(f"image {p.name}: {w}x{h} {mode}, {size} bytes")
        paths[name] = p
    return paths


# ---------------------------------------------------------------------------------------------
# Spec re-implementation of the layout (section 6), to compare against the processor
# ---------------------------------------------------------------------------------------------

def spec_layout(w, h, min_tok=64, max_tok=256, P=16, f=2, tile=512, min_tiles=2, max_tiles=10,
                tolerance=2.0, use_thumbnail=True):
    fac = P * f

    def round_f(v):
        return fac * round(v / fac)

    def smart_resize(hh, ww):
        max_pix, min_pix = max_tok * P * P * f * f, min_tok * P * P * f * f
        hb, wb = max(fac, round_f(hh)), max(fac, round_f(ww))
        if hb * wb > max_pix:
            beta = math.sqrt(hh * ww / max_pix)
            hb = max(fac, math.floor(hh / beta / fac) * fac)
            wb = max(fac, math.floor(ww / beta / fac) * fac)
        elif hb * wb < min_pix:
            beta = math.sqrt(min_pix / (hh * ww))
            hb = math.ceil(hh * beta / fac) * fac
            wb = math.ceil(ww * beta / fac) * fac
        return wb, hb

    too_large = max(P, round_f(h)) * max(P, round_f(w)) > max_tok * P * P * f * f * tolerance
    if not too_large:
        vw, vh = smart_resize(h, w)
        return {"grid": [1, 1], "views": [[vw, vh]], "image_tokens": (vw // fac) * (vh // fac)}
    cands = sorted({(gw, gh) for n in range(min_tiles, max_tiles + 1) for gw in range(1, n + 1)
                    for gh in range(1, n + 1) if min_tiles <= gw * gh <= max_tiles},
                   key=lambda r: r[0] * r[1])
    best, bd = (1, 1), float("inf")
    for gw, gh in cands:
        d = abs(w / h - gw / gh)
        if d < bd:
            bd, best = d, (gw, gh)
        elif d == bd and w * h > 0.5 * tile * tile * gw * gh:
            best = (gw, gh)
    gw, gh = best
    views = [[tile, tile]] * (gw * gh)
    tokens = gw * gh * (tile // fac) ** 2
    if use_thumbnail and gw * gh != 1:
        tw, th = smart_resize(h, w)
        views = views + [[tw, th]]
        tokens += (tw // fac) * (th // fac)
    return {"grid": [gh, gw], "views": views, "image_tokens": tokens}


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

MODELS = [  # name, projector_use_layernorm, intermediate_size, store vision.embeddings (size budget)
    ("lfm2-vl", True, 192, True),      # effective FFN int(2*192/3)=128 (already a multiple of 32)
    ("lfm2.5-vl", False, 200, False),  # effective FFN int(2*200/3)=133 -> ceil to multiple of 32 = 160
]
LAYER_TYPES = ["conv", "full_attention", "conv", "full_attention"]


def effective_ffn(intermediate, multiplier=1.0, multiple_of=32):
    F = int(2 * intermediate / 3)
    F = int(multiplier * F)
    return multiple_of * ((F + multiple_of - 1) // multiple_of)


def make_config(use_layernorm, intermediate, vocab):
    from transformers import Lfm2VlConfig
    text = dict(
        model_type="lfm2", vocab_size=vocab, hidden_size=64, intermediate_size=intermediate,
        num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=128000, norm_eps=1e-5, conv_bias=False, conv_L_cache=3,
        block_multiple_of=32, block_ffn_dim_multiplier=1.0, block_auto_adjust_ff_dim=True,
        layer_types=list(LAYER_TYPES), rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=7, pad_token_id=0, use_cache=True)
    vision = dict(
        model_type="siglip2_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_channels=3, num_patches=256, patch_size=16,
        hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, attention_dropout=0.0, vision_use_head=False)
    return Lfm2VlConfig(
        vision_config=vision, text_config=text, image_token_id=IMAGE_TOKEN_ID,
        projector_hidden_act="gelu", projector_hidden_size=48, projector_bias=True,
        projector_use_layernorm=use_layernorm, downsample_factor=2, vision_feature_layer=-1,
        tie_word_embeddings=True)


def reinit_(model, seed):
    """Larger spread than the 0.02 default so logits have real margins (addendum)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:                       # Linear, Embedding, conv [H,1,3], position table
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:                                 # LayerNorm / RMSNorm weights
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)


def hf_tokenizer(tok_json: Path, work: Path):
    """Load the trained tokenizer the way a checkpoint is loaded (tokenizer_config.json like LFM2's)."""
    from transformers import AutoTokenizer
    d = work / "hf_tokenizer"
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_bytes(tok_json.read_bytes())
    extra = {"image_token": "<image>", "image_start_token": "<|image_start|>",
             "image_end_token": "<|image_end|>", "image_thumbnail": "<|img_thumbnail|>"}
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|startoftext|>",
           "eos_token": "<|im_end|>", "pad_token": "<|pad|>", "add_bos_token": True,
           "add_eos_token": False, "clean_up_tokenization_spaces": True, "legacy": False,
           "model_max_length": 1000000, "spaces_between_special_tokens": False,
           "extra_special_tokens": extra, **extra}
    write_json(d / "tokenizer_config.json", cfg)
    tok = AutoTokenizer.from_pretrained(str(d))
    how = "AutoTokenizer.from_pretrained(tokenizer.json + LFM2-like tokenizer_config.json)"
    if missing_image_attrs(tok, extra):
        print(f"AutoTokenizer lacks {missing_image_attrs(tok, extra)}; trying PreTrainedTokenizerFast")
        from tokenizers import Tokenizer
        from transformers import PreTrainedTokenizerFast
        tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(str(tok_json)),
                                      bos_token="<|startoftext|>", eos_token="<|im_end|>",
                                      pad_token="<|pad|>", extra_special_tokens=extra)
        how = "PreTrainedTokenizerFast(tokenizer_object=..., extra_special_tokens=...)"
    if missing_image_attrs(tok, extra):
        print(f"still missing {missing_image_attrs(tok, extra)}; setting attributes by hand")
        for k, v in extra.items():
            setattr(tok, k, v)
        setattr(tok, "image_token_id", IMAGE_TOKEN_ID)
        how += " + attributes set by hand"
    assert not missing_image_attrs(tok, extra), missing_image_attrs(tok, extra)
    return tok, how


def missing_image_attrs(tok, extra):
    missing = [k for k, v in extra.items() if getattr(tok, k, None) != v]
    if getattr(tok, "image_token_id", None) != IMAGE_TOKEN_ID:
        missing.append("image_token_id")
    return missing


def view_images(pv, spatial_shapes, mask_sums, P=16):
    """pixel_values rows are (dy, dx, c) patches in row-major order (spec 2.2); undo that."""
    views, stats = [], {"max_dist_to_integer": 0.0}
    for i in range(pv.shape[0]):
        ph, pw = int(spatial_shapes[i][0]), int(spatial_shapes[i][1])
        n = ph * pw
        assert n == int(mask_sums[i]), (n, mask_sums[i])
        v = pv[i, :n].reshape(ph, pw, P, P, 3).transpose(0, 2, 1, 3, 4).reshape(ph * P, pw * P, 3)
        s = v.astype(np.float64) * 127.5 + 127.5
        u8 = np.rint(s)
        dist = float(np.abs(s - u8).max())
        stats["max_dist_to_integer"] = max(stats["max_dist_to_integer"], dist)
        assert dist < 1e-3 and u8.min() >= 0 and u8.max() <= 255, (i, dist)
        assert not pv[i, n:].any(), "padded rows are not zero"
        views.append(u8.astype(np.uint8))
    return views, stats


def normalization_diffs(pv_rows, u8_rows):
    """Which fp32 formula reproduces the processor's normalised values bit for bit."""
    u = u8_rows.astype(np.float32)
    forms = {
        "(u8-127.5)/127.5": (u - np.float32(127.5)) / np.float32(127.5),
        "(u8/255-0.5)/0.5": (u / np.float32(255.0) - np.float32(0.5)) / np.float32(0.5),
        "u8*(1/255)*2-1": (u * np.float32(1 / 255) - np.float32(0.5)) / np.float32(0.5),
    }
    return {k: float(np.abs(v - pv_rows).max()) for k, v in forms.items()}


def pil_reference_views(src_rgb, layout_views, grid, tile=512):
    """PIL Image.resize(BILINEAR) of the RGB source for each view, for the +-1 LSB note (spec 6)."""
    from PIL import Image
    gh, gw = grid
    out = []
    n_tiles = gh * gw if gh * gw > 1 else 0
    if n_tiles:
        canvas = src_rgb.resize((gw * tile, gh * tile), Image.BILINEAR)
        for t in range(n_tiles):
            r, c = divmod(t, gw)
            out.append(np.asarray(canvas.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile))))
    for vw, vh in layout_views[n_tiles:]:
        out.append(np.asarray(src_rgb.resize((vw, vh), Image.BILINEAR)))
    return out


def white_composite(img):
    from PIL import Image
    rgba = img.convert("RGBA")
    bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(bg, rgba).convert("RGB")


def models_stage(out: Path, tok_json: Path, image_paths: dict, versions: dict):
    import torch
    import transformers
    from PIL import Image
    from safetensors.torch import save_file
    from transformers import AutoProcessor, Lfm2VlForConditionalGeneration, Lfm2VlProcessor
    from transformers.models.lfm2_vl.image_processing_lfm2_vl import Lfm2VlImageProcessor

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="lfm2vl_fixtures_"))
    hf_tok, tok_how = hf_tokenizer(tok_json, work)
    print("transformers tokenizer:", type(hf_tok).__name__, tok_how)

    # transformers' tokenizer must agree with the raw tokenizers ids on every case
    cases = json.loads((out / "tokenizer" / "cases.json").read_text())["cases"]
    tok_disagree = [c["text"] for c in cases
                    if hf_tok(c["text"], add_special_tokens=False)["input_ids"] != c["ids"]]
    print(f"transformers tokenizer disagrees on {len(tok_disagree)} cases: {tok_disagree[:5]!r}")

    processor = Lfm2VlProcessor(image_processor=Lfm2VlImageProcessor(), tokenizer=hf_tok,
                                chat_template=CHAT_TEMPLATE)
    ip = processor.image_processor
    ip_defaults = {k: getattr(ip, k, None) for k in [
        "do_image_splitting", "min_tiles", "max_tiles", "tile_size", "use_thumbnail", "min_image_tokens",
        "max_image_tokens", "encoder_patch_size", "max_pixels_tolerance", "downsample_factor",
        "max_num_patches", "do_convert_rgb", "resample", "image_mean", "image_std", "rescale_factor"]}
    ip_defaults = {k: (str(v) if not isinstance(v, (int, float, bool, list, type(None))) else v)
                   for k, v in ip_defaults.items()}
    print("image processor:", type(ip).__name__, ip_defaults)

    summary = {"transformers_tokenizer": f"{type(hf_tok).__name__} via {tok_how}",
               "tokenizer_transformers_disagreements": tok_disagree, "image_processor_class": type(ip).__name__,
               "image_processor_settings": ip_defaults, "models": {}}
    for mi, (mname, use_ln, inter, store_emb) in enumerate(MODELS):
        mdir = out / mname
        ckpt = mdir / "checkpoint"
        ckpt.mkdir(parents=True, exist_ok=True)
        config = make_config(use_ln, inter, hf_tok_size(hf_tok))
        torch.manual_seed(SEED + 100 + mi)
        built = Lfm2VlForConditionalGeneration(config)
        reinit_(built, SEED + 200 + mi)
        built.tie_weights()
        built.generation_config.bos_token_id = 1
        built.generation_config.eos_token_id = 7
        built.generation_config.pad_token_id = 0
        built.save_pretrained(str(ckpt))
        processor.save_pretrained(str(ckpt))
        (ckpt / "chat_template.jinja").write_text(CHAT_TEMPLATE)

        model = Lfm2VlForConditionalGeneration.from_pretrained(
            str(ckpt), dtype=torch.float32, attn_implementation="eager").eval()
        sd_built, sd_loaded = built.state_dict(), model.state_dict()
        for k, v in sd_built.items():
            assert torch.equal(v, sd_loaded[k]), f"reload changed {k}"
        lm, emb = model.lm_head.weight, model.model.language_model.embed_tokens.weight
        tied = bool(torch.equal(lm, emb))
        if not tied:
            print(f"WARNING {mname}: lm_head is not tied to embed_tokens")
        from safetensors import safe_open
        with safe_open(str(ckpt / "model.safetensors"), "pt") as f:
            st_keys = sorted(f.keys())
            st_dtypes = sorted({str(f.get_tensor(k).dtype) for k in st_keys})
        has_ln = any("multi_modal_projector.layer_norm" in k for k in st_keys)
        assert has_ln == use_ln, (mname, has_ln)
        ffn_w = model.model.language_model.layers[0].feed_forward.w1.weight.shape[0]
        if ffn_w != effective_ffn(inter):
            print(f"WARNING {mname}: FFN width {ffn_w} != rule {effective_ffn(inter)}")
        try:
            rp = AutoProcessor.from_pretrained(str(ckpt))
            proc, proc_src = rp, "AutoProcessor.from_pretrained(checkpoint)"
        except Exception as e:  # record and fall back to the in-memory processor
            print(f"AutoProcessor reload failed: {e!r}")
            proc, proc_src = processor, f"in-memory Lfm2VlProcessor (reload failed: {e!r})"
        attn = {"text": getattr(model.config.get_text_config(), "_attn_implementation", None),
                "vision": getattr(model.config.vision_config, "_attn_implementation", None)}
        lmod = model.model.language_model
        rot = getattr(lmod, "rotary_emb", None) or getattr(lmod, "pos_emb", None)
        minfo = {
            "checkpoint_files": sorted(p.name for p in ckpt.iterdir()),
            "safetensors_tensors": len(st_keys), "safetensors_dtypes": st_dtypes,
            "has_lm_head_tensor": "lm_head.weight" in st_keys, "lm_head_tied": tied,
            "effective_ffn_width_by_rule": effective_ffn(inter),
            "projector_use_layernorm": use_ln, "intermediate_size": inter,
            "effective_ffn_width": ffn_w, "head_dim": 64 // 4,
            "rope_inv_freq": [float(x) for x in rot.inv_freq.tolist()] if rot is not None else None,
            "text_config_rope": str(getattr(model.config.get_text_config(), "rope_parameters", None)),
            "attn_implementation": attn, "processor_source": proc_src,
            "param_count": sum(p.numel() for p in model.parameters()), "images": {},
        }
        print(f"{mname}: {minfo['param_count']} params, ffn {ffn_w}, tensors {len(st_keys)}, attn {attn}")

        chat = proc.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
        expected_chat = ("<|startoftext|><|im_start|>user\n<image>" + PROMPT_TEXT
                         + "<|im_end|>\n<|im_start|>assistant\n")
        assert chat == expected_chat, repr(chat)

        for iname, path in image_paths.items():
            rec = run_image(model, proc, hf_tok, mdir / iname, iname, path, chat, versions, store_emb)
            minfo["images"][iname] = {k: rec[k] for k in [
                "image_tokens", "spec_image_tokens", "n_views", "grid_rows_cols", "generated_ids",
                "min_top2_margin", "argmax_matches_generated", "processor_input"]}
        summary["models"][mname] = minfo
    write_json(out / "summary.json", summary)
    return summary


def hf_tok_size(tok):
    return len(tok)


def run_image(model, proc, hf_tok, idir: Path, iname, path, chat, versions, store_emb):
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    (idir / "views").mkdir(parents=True, exist_ok=True)
    src = Image.open(path)
    src_mode, (W, H) = src.mode, src.size
    notes = {}

    def process(img, **kw):
        b = proc(images=[img], text=chat, return_tensors="pt", **kw)
        return {k: b[k] for k in b.keys()}

    try:
        inputs = process(Image.open(path))
        processor_input = f"Image.open(path) as is (mode {src_mode})"
    except Exception as e:
        notes["as_is_error"] = repr(e)
        inputs = process(Image.open(path).convert("RGB"))
        processor_input = "Image.open(path).convert('RGB') (as-is failed)"
    if src_mode != "RGB":  # which RGB did transformers use? (pixel_values compared, normalised units)
        candidates = {"pil_convert_rgb": process(Image.open(path).convert("RGB")),
                      "white_composite": process(white_composite(Image.open(path)))}
        for label, alt in candidates.items():
            notes[f"fixture_equals_{label}"] = bool(torch.equal(alt["pixel_values"], inputs["pixel_values"]))
            notes[f"fixture_vs_{label}_max_abs_diff"] = float((alt["pixel_values"] - inputs["pixel_values"]).abs().max())
        try:  # what a transformers user would do after the error: ask the processor to convert
            conv = process(Image.open(path), do_convert_rgb=True)
            for label, alt in candidates.items():
                notes[f"do_convert_rgb_true_equals_{label}"] = bool(torch.equal(alt["pixel_values"], conv["pixel_values"]))
        except Exception as e:
            notes["do_convert_rgb_true_error"] = repr(e)
    ids = inputs["input_ids"][0].tolist()
    pv = inputs["pixel_values"]
    ss = inputs["spatial_shapes"]
    pam = inputs["pixel_attention_mask"]
    mask_sums = pam.sum(dim=1).tolist()
    assert ids[0] == 1 and ids.count(1) == 1, "expected exactly one BOS at the start"

    # tile grid from the markers (geometric in transformers >= 5.0) and from the image processor
    inv = {397 + 10 * (r - 1) + (c - 1): [r, c] for r in range(1, 11) for c in range(1, 11)}
    markers = [inv[t] for t in ids if t in inv]
    rows = max((m[0] for m in markers), default=1)
    cols = max((m[1] for m in markers), default=1)
    try:
        rc = proc.image_processor(images=[[Image.open(path).convert("RGB")]], return_row_col_info=True)
        ip_rows_cols = {k: to_list(rc[k]) for k in ["image_rows", "image_cols", "image_sizes"] if k in rc}
    except Exception as e:
        ip_rows_cols = {"error": repr(e)}
    layout = spec_layout(W, H)
    n_views = pv.shape[0]
    view_sizes = [[int(s[1]) * 16, int(s[0]) * 16] for s in ss.tolist()]  # (w, h)

    pv_np = pv.numpy()
    views, vstats = view_images(pv_np, ss.tolist(), mask_sums)
    norm = {}
    for i, v in enumerate(views):
        ph, pw = ss[i].tolist()
        u8_rows = v.reshape(ph, 16, pw, 16, 3).transpose(0, 2, 1, 3, 4).reshape(ph * pw, 768)
        for k, d in normalization_diffs(pv_np[i, :ph * pw], u8_rows).items():
            norm[k] = max(norm.get(k, 0.0), d)
        from PIL import Image as _I
        _I.fromarray(v, "RGB").save(idir / "views" / f"view_{i}.png", optimize=True)
    n_tiles = rows * cols if rows * cols > 1 else 0
    view_info = []
    for i in range(n_views):
        kind = "tile" if i < n_tiles else ("thumbnail" if n_tiles else "single")
        e = {"index": i, "kind": kind, "w": view_sizes[i][0], "h": view_sizes[i][1],
             "patches": int(mask_sums[i]), "png": f"views/view_{i}.png"}
        if kind == "tile":
            e["tile_row_col"] = [i // cols + 1, i % cols + 1]
        view_info.append(e)

    # PIL bilinear vs processor views (what the Java resize may be held to)
    rgb_for_pil = Image.open(path).convert("RGB") if src_mode != "RGBA" else (
        white_composite(Image.open(path)) if notes.get("fixture_equals_white_composite")
        else Image.open(path).convert("RGB"))
    pil_cmp = []
    if [list(v) for v in layout["views"]] == view_sizes:
        for i, ref in enumerate(pil_reference_views(rgb_for_pil, layout["views"], layout["grid"])):
            d = np.abs(ref.astype(np.int16) - views[i].astype(np.int16))
            pil_cmp.append({"index": i, "max_abs_diff": int(d.max()), "n_diff": int((d > 0).sum())})

    with torch.no_grad():
        vt = model.model.vision_tower
        emb = None
        if store_emb:  # Siglip2VisionModel.vision_model in 4.x; flattened in 5.x
            try:
                emb = getattr(getattr(vt, "vision_model", vt), "embeddings")(pv, ss)
            except Exception as e:
                notes["vision_embeddings_error"] = repr(e)
        hidden = vt(pixel_values=pv, spatial_shapes=ss, pixel_attention_mask=pam).last_hidden_state
        feats = []
        for i in range(n_views):
            ph, pw = ss[i].tolist()
            f = hidden[i, :ph * pw].reshape(1, ph, pw, -1)
            feats.append(model.model.multi_modal_projector(f).reshape(-1, model.config.text_config.hidden_size))
        features = torch.cat(feats, 0)
        try:
            ref = model.model.get_image_features(pixel_values=pv, spatial_shapes=ss, pixel_attention_mask=pam)
            ref = getattr(ref, "pooler_output", ref)
            ref = torch.cat(list(ref), 0) if isinstance(ref, (list, tuple)) else ref.reshape(-1, features.shape[1])
            notes["get_image_features_max_abs_diff"] = float((ref - features).abs().max())
        except Exception as e:
            notes["get_image_features_error"] = repr(e)
        n_img_tok = ids.count(IMAGE_TOKEN_ID)
        assert features.shape[0] == n_img_tok, (features.shape, n_img_tok)

        out = model(**inputs)
        prefill_last = out.logits[0, -1].float()
        gen = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        P = len(ids)
        new = gen[0, P:].tolist()
        full = gen[0:1]
        tf_inputs = dict(inputs)
        tf_inputs["input_ids"] = full
        tf_inputs["attention_mask"] = torch.ones_like(full)
        tf = model(**tf_inputs).logits[0, P - 1:P - 1 + len(new)].float()
        top2 = tf.topk(2, dim=-1).values
        margin = (top2[:, 0] - top2[:, 1]).contiguous()
        argmax_ok = tf.argmax(-1).tolist() == new

    tensors = {"projector.image_features": features.contiguous(),
               "logits.prefill_last": prefill_last.contiguous(),
               "logits.teacher_forced": tf.contiguous(),
               "logits.top2_margin": margin}
    for i in range(n_views):
        n = int(mask_sums[i])
        tensors[f"vision.last_hidden_state.{i}"] = hidden[i, :n].contiguous()
        # the position-table resize is the identity-like 16->32 upsample for every 32x32 view
        if emb is not None and view_info[i]["kind"] != "tile" and ss[i].tolist() != [32, 32]:
            tensors[f"vision.embeddings.{i}"] = emb[i, :n].contiguous()
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}
    save_file(tensors, str(idir / "tensors.safetensors"), metadata={"format": "pt"})

    eos_stopped = len(new) < MAX_NEW_TOKENS or (len(new) > 0 and new[-1] == 7)
    meta = {
        "versions": versions,
        "image": {"file": f"images/{path.name}", "width": W, "height": H, "mode": src_mode},
        "processor_input": processor_input,
        "processor_notes": notes,
        "messages": MESSAGES,
        "chat_string": chat,
        "input_ids": ids,
        "n_prompt_tokens": len(ids),
        "image_tokens": n_img_tok,
        "spec_image_tokens": layout["image_tokens"],
        "spec_layout": layout,
        "spec_layout_matches": [list(v) for v in layout["views"]] == view_sizes,
        "n_views": n_views,
        "spatial_shapes": ss.tolist(),
        "pixel_attention_mask_sums": [int(s) for s in mask_sums],
        "max_num_patches": int(pv.shape[1]),
        "views": view_info,
        "grid_rows_cols": [rows, cols],
        "tile_markers_in_order": markers,
        "image_processor_row_col_info": ip_rows_cols,
        "pixel_recovery": vstats,
        "normalization_max_abs_diff": norm,
        "pil_bilinear_vs_processor": pil_cmp,
        "prefill_logits_vs_teacher_forced_row0_max_abs_diff": float((prefill_last - tf[0]).abs().max()) if len(new) else None,
        "generated_ids": new,
        "generated_text": hf_tok.decode(new, skip_special_tokens=False),
        "n_generated": len(new),
        "eos_stopped": eos_stopped,
        "argmax_matches_generated": argmax_ok,
        "min_top2_margin": float(margin.min()) if len(new) else None,
        "teacher_forced_positions": f"logits rows are positions {P - 1}..{P - 2 + len(new)} of prompt+generated",
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
    }
    write_json(idir / "meta.json", meta)
    print(f"  {iname}: views {n_views} {view_sizes}, image tokens {n_img_tok} (spec {layout['image_tokens']}),"
          f" grid {rows}x{cols}, gen {new}, min margin {meta['min_top2_margin']}, argmax ok {argmax_ok},"
          f" notes {notes}, norm {norm}, pil {[(c['max_abs_diff'], c['n_diff']) for c in pil_cmp]}")
    return meta


def to_list(x):
    return x.tolist() if hasattr(x, "tolist") else [to_list(v) for v in x] if isinstance(x, (list, tuple)) else x


# ---------------------------------------------------------------------------------------------

def write_json(path: Path, obj):
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def versions_now():
    v = {"python": sys.version.split()[0], "numpy": np.__version__}
    for mod in ["tokenizers", "PIL", "torch", "torchvision", "transformers", "safetensors"]:
        try:
            v[mod] = __import__(mod).__version__
        except Exception:
            pass
    try:
        import torch
        v["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:
        pass
    return v


README = """# Parity fixtures for the LFM2-VL / LFM2.5-VL Java port

Made by `tools/parity/make_fixtures.py` (reference: transformers {transformers}, torch {torch},
tokenizers {tokenizers}, torchvision {torchvision}, Pillow {PIL}, numpy {numpy}, Python {python};
CPU capability {torch_cpu_capability}), run on the GPU host's CPU, fp32, eager attention:

    CUDA_VISIBLE_DEVICES= PYTHONUNBUFFERED=1 python3 tools/parity/make_fixtures.py OUT/parity

Everything is random but seeded (seed {seed}); nothing here comes from a real checkpoint.
Spec: shared/docs/model-lfm2-vl.md.

## tokenizer/
- `tokenizer.json`: byte-level BPE trained by `tokenizers` on a small embedded corpus, vocab {vocab}.
  Shaped like LFM2's: normalizer none; pre_tokenizer Sequence[Split(LLaMA-3 regex, Isolated),
  ByteLevel(add_prefix_space=false, use_regex=false)]; BPE with `ignore_merges: true`; decoder
  ByteLevel; post_processor TemplateProcessing that prepends `<|startoftext|>` (id 1) only when
  special tokens are requested. The 501 LFM2 special tokens sit at their real ids 0..500
  (`<|pad|>` 0, `<|startoftext|>` 1, `<|im_start|>` 6, `<|im_end|>` 7, `<image>` 396,
  `<|img_row_R_col_C|>` 397 + 10(R-1) + (C-1), `<|img_thumbnail|>` 497, `<|image_start|>` 498,
  `<|image_end|>` 499, `<|image_split|>` 500); ids without a known LFM2 name are `<|reserved_{{id-10}}|>`.
- `cases.json`: `{{tokenizers_version, transformers_version, cases: [{{text, ids, tokens, decoded}}],
  cases_with_special_tokens: [{{text, ids}}]}}`; `ids` = `Tokenizer.from_file(tokenizer.json)
  .encode(text, add_special_tokens=False).ids`, `decoded` = `decode(ids, skip_special_tokens=False)`.
  `cases_with_special_tokens` use `add_special_tokens=True` (BOS prepended).

## images/
Synthetic PNGs (gradients, discs, rectangles, a stripe band, a noise patch, sparse speckle):
{image_list}

## <model>/ (`lfm2-vl`, `lfm2.5-vl`)
Tiny random Lfm2VlForConditionalGeneration, same tokenizer for both. Text: hidden 64, 4 layers
{layer_types}, 4 heads, 2 KV heads (head_dim 16), conv_L_cache 3, rope theta 1e6, norm eps 1e-5, tied
lm_head, vocab {vocab}. FFN: block_auto_adjust_ff_dim true, multiplier 1.0, multiple_of 32;
`lfm2-vl` intermediate_size 192 -> effective width 128; `lfm2.5-vl` intermediate_size 200 -> 160
(int(2*200/3) = 133, rounded up to a multiple of 32). Vision (SigLIP2 NaFlex): hidden 32, 2 layers, 2 heads,
intermediate 64, patch 16, 256 position rows, gelu_pytorch_tanh, LayerNorm eps 1e-6. Projector: hidden 48,
gelu (erf), bias, downsample 2; `lfm2-vl` has projector_use_layernorm=true, `lfm2.5-vl` false.
Weights re-initialised (after the default init) with N(0, 0.3) for every weight of rank >= 2
(Linear, Embedding, conv, position table), N(0, 0.1) for biases, 1 + N(0, 0.1) for norm weights.

- `checkpoint/`: `save_pretrained` output (fp32 `model.safetensors`, `config.json` as saved,
  `generation_config.json`), plus the processor's `save_pretrained` output (`processor_config.json`,
  `tokenizer.json`, `tokenizer_config.json`) and `chat_template.jinja` (LFM2-VL ChatML template).
  The fixtures were computed with the model reloaded from this folder
  (`from_pretrained(dtype=float32, attn_implementation="eager")`) and the processor from
  `AutoProcessor.from_pretrained` on it.
- `<image>/meta.json`: versions; source image; `processor_input` (what was passed: `Image.open(path)`
  as is, or `.convert("RGB")` where as-is raised); `processor_notes` (for non-RGB images: the as-is
  error if any, whether the fixture's pixel_values equal those from PIL `.convert("RGB")` or from a
  composite over white, and what `do_convert_rgb=True` does); `chat_string`; `input_ids` (processor output for the chat string + image); `image_tokens`
  vs `spec_image_tokens` and `spec_layout` (section 6 re-implemented in the script);
  `spatial_shapes` ([patch rows, patch cols] per view); `pixel_attention_mask_sums`; `views`
  ({{index, kind tile|thumbnail|single, w, h, patches, tile_row_col, png}}); `grid_rows_cols`;
  `tile_markers_in_order` ([R, C] of each `<|img_row_R_col_C|>` in input_ids);
  `normalization_max_abs_diff` (fp32 formulas vs the processor's values); `pil_bilinear_vs_processor`
  (PIL `Image.resize(BILINEAR)` of the RGB source vs each view, max abs diff and count of differing
  channel values); `generated_ids` / `generated_text` / `eos_stopped` (`generate(max_new_tokens=20,
  do_sample=False)`); `argmax_matches_generated`; `min_top2_margin`; `tensors` (name -> shape).
- `<image>/views/view_<i>.png`: the processor's resized views, recovered losslessly from
  `pixel_values` (u8 = round(v*127.5 + 127.5), checked to be within 1e-3 of an integer), tiles in
  row-major order then the thumbnail.
- `<image>/tensors.safetensors` (all float32):
  - `vision.last_hidden_state.<i>` [patches_i, 32]: vision tower output after post_layernorm for view i,
    unpadded rows only (row r*pw + c = patch at row r, col c).
  - `vision.embeddings.<i>` [patches_i, 32] (`lfm2-vl` only, to keep the folder small): patch
    embedding + resized position embedding (the vision embeddings module output), only for
    single/thumbnail views whose patch grid is not 32x32 (all 32x32 views share the 16->32 upsample).
  - `projector.image_features` [image_tokens, 64]: projector output of all views concatenated in view
    order (= the rows scattered into the `<image>` positions).
  - `logits.prefill_last` [vocab]: logits of the full prompt at its last position.
  - `logits.teacher_forced` [n_generated, vocab]: the model run once on prompt + generated tokens;
    row k = logits at position P-1+k (the distribution that produced generated token k); row 0 equals
    `logits.prefill_last` up to summation order.
  - `logits.top2_margin` [n_generated]: top-1 minus top-2 logit per row.
- `summary.json` (top level): processor settings, checkpoint facts, per-image digest.

## What transformers did (from this run)
{findings}
"""


def findings(out: Path):
    """Processor behaviour read back from the first model's meta.json files."""
    rows = ["| image | input to processor | views (w x h) | grid rows x cols | image tokens (spec) "
            "| PIL bilinear vs view: max diff / values differing |", "|---|---|---|---|---|---|"]
    notes = []
    mname = MODELS[0][0]
    for name, *_ in IMAGES:
        mp = out / mname / name / "meta.json"
        if not mp.exists():
            continue
        m = json.loads(mp.read_text())
        views = ", ".join(f"{v['w']}x{v['h']}" for v in m["views"])
        pil = ", ".join(f"{c['max_abs_diff']}/{c['n_diff']}" for c in m["pil_bilinear_vs_processor"])
        rows.append(f"| {name} | {m['processor_input']} | {views} | {m['grid_rows_cols'][0]} x "
                    f"{m['grid_rows_cols'][1]} | {m['image_tokens']} ({m['spec_image_tokens']}) | {pil} |")
        pn = {k: v for k, v in m["processor_notes"].items() if not k.startswith("get_image_features")}
        if pn:
            notes.append(f"- {name}: {json.dumps(pn, ensure_ascii=False)}")
        if name == "rgb_1024x768":
            notes.append(f"- {name}: tile markers in input_ids order (R, C): {m['tile_markers_in_order']}; "
                         f"image processor image_rows/image_cols: {m['image_processor_row_col_info']}")
        notes.append(f"- {name}: normalisation max abs diff vs fp32 formulas: {m['normalization_max_abs_diff']}")
    return "\n".join(rows) + "\n\n" + "\n".join(notes)


def write_readme(out: Path, versions: dict):
    lines = []
    for name, w, h, mode in IMAGES:
        lines.append(f"- `{name}.png`: {w}x{h} {mode}")
    text = README.format(seed=SEED, vocab=VOCAB_SIZE, layer_types=LAYER_TYPES, image_list="\n".join(lines),
                         findings=findings(out),
                         **{k: versions.get(k, "n/a") for k in ["transformers", "torch", "tokenizers",
                                                                "torchvision", "PIL", "numpy", "python",
                                                                "torch_cpu_capability"]})
    (out / "README.md").write_text(text, encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--stages", default="tokenizer,images,models")
    args = ap.parse_args()
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    stages = set(args.stages.split(","))
    versions = versions_now()
    print("versions:", versions)
    if "tokenizer" in stages:
        tokenizer_stage(out, versions)
    if "images" in stages:
        paths = images_stage(out)
    else:
        paths = {n: out / "images" / f"{n}.png" for n, *_ in IMAGES}
    if "models" in stages:
        models_stage(out, out / "tokenizer" / "tokenizer.json", paths, versions)
    write_readme(out, versions)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"total size {total} bytes")
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size:>10} {p.relative_to(out)}")


if __name__ == "__main__":
    main()
