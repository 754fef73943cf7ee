#!/usr/bin/python3
"""Writes the proof-of-exactness fixtures for atelier's native encoders.

Real CLIP and MiniLM weights cannot be fetched on these machines, so this
script builds small random-weight checkpoints of both architectures with the
real vocabularies from ../shared/models/tokenizers, in the exact layout a
Hugging Face model folder has (config.json, model.safetensors, tokenizer
files), runs a reference forward written with torch.nn operations (padded
batches with attention masks, as transformers does), and saves the outputs.
It also writes token ids derived in Python from the published tokenizer
algorithms, and CLIP pixel tensors preprocessed with PIL as Hugging Face's
CLIPImageProcessor does.

Debian packages only: python3-torch, python3-numpy, python3-pil, python3-regex.

usage: make-transformer-fixtures.py OUT_DIR [--full]   (--full: MiniLM-L6 and
ViT-B/32 sizes plus TorchScript files, for bench/encoders)
"""
import gzip
import html
import json
import math
import os
import shutil
import struct
import sys
import unicodedata

import numpy as np
import regex
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("ATELIER_SHARED", os.path.join(HERE, "..", "..", "shared"))
TOK = os.path.join(SHARED, "models", "tokenizers")


# --- safetensors, written from the format's specification -------------------
def save_safetensors(path, tensors, dtype=torch.float32):
    names = sorted(tensors)
    header, blobs, off = {}, [], 0
    code = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[dtype]
    for n in names:
        t = tensors[n].detach().to(dtype).contiguous()
        b = t.view(torch.int16).numpy().tobytes() if dtype != torch.float32 else t.numpy().tobytes()
        header[n] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# --- reference models (torch.nn operations) ---------------------------------
class Attention(torch.nn.Module):
    def __init__(self, h, heads):
        super().__init__()
        self.h, self.heads = h, heads
        self.q, self.k, self.v, self.o = (torch.nn.Linear(h, h) for _ in range(4))

    def forward(self, x, mask):  # mask: additive [b, 1, t, t]
        b, t, _ = x.shape
        d = self.h // self.heads
        split = lambda y: y.view(b, t, self.heads, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        s = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        a = torch.softmax(s, dim=-1) @ v
        return self.o(a.transpose(1, 2).reshape(b, t, self.h))


class Layer(torch.nn.Module):
    def __init__(self, h, heads, inter, eps, act, pre_ln):
        super().__init__()
        self.attn = Attention(h, heads)
        self.ln1, self.ln2 = torch.nn.LayerNorm(h, eps=eps), torch.nn.LayerNorm(h, eps=eps)
        self.fc1, self.fc2 = torch.nn.Linear(h, inter), torch.nn.Linear(inter, h)
        self.act, self.pre_ln = act, pre_ln

    def forward(self, x, mask):
        if self.pre_ln:
            x = x + self.attn(self.ln1(x), mask)
            return x + self.fc2(self.act(self.fc1(self.ln2(x))))
        x = self.ln1(x + self.attn(x, mask))
        return self.ln2(x + self.fc2(self.act(self.fc1(x))))


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def randomize(module, scale):
    g = torch.Generator().manual_seed(1234)
    norms = {id(p) for m in module.modules() if isinstance(m, torch.nn.LayerNorm) for p in m.parameters()}
    for n, p in module.named_parameters():
        with torch.no_grad():
            if id(p) in norms:  # near 1 and 0, but not exactly: swapped gamma/beta must show
                p.copy_((1.0 if n.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(scale * torch.randn(p.shape, generator=g))


class Bert(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.c = c
        self.word = torch.nn.Embedding(c["vocab_size"], h)
        self.pos = torch.nn.Embedding(c["max_position_embeddings"], h)
        self.ttype = torch.nn.Embedding(c["type_vocab_size"], h)
        self.emb_ln = torch.nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.layers = torch.nn.ModuleList(
            Layer(h, c["num_attention_heads"], c["intermediate_size"], c["layer_norm_eps"], F.gelu, False)
            for _ in range(c["num_hidden_layers"]))

    def forward(self, ids, attention_mask):
        t = ids.shape[1]
        x = self.emb_ln(self.word(ids) + self.pos(torch.arange(t))[None] + self.ttype(torch.zeros_like(ids)))
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for l in self.layers:
            x = l(x, mask)
        return x

    def hf_state(self, prefix=""):
        s = {prefix + "embeddings.word_embeddings.weight": self.word.weight,
             prefix + "embeddings.position_embeddings.weight": self.pos.weight,
             prefix + "embeddings.token_type_embeddings.weight": self.ttype.weight,
             prefix + "embeddings.LayerNorm.weight": self.emb_ln.weight,
             prefix + "embeddings.LayerNorm.bias": self.emb_ln.bias}
        for i, l in enumerate(self.layers):
            p = f"{prefix}encoder.layer.{i}."
            for ours, theirs in [(l.attn.q, "attention.self.query"), (l.attn.k, "attention.self.key"),
                                 (l.attn.v, "attention.self.value"), (l.attn.o, "attention.output.dense"),
                                 (l.fc1, "intermediate.dense"), (l.fc2, "output.dense"),
                                 (l.ln1, "attention.output.LayerNorm"), (l.ln2, "output.LayerNorm")]:
                s[p + theirs + ".weight"] = ours.weight
                s[p + theirs + ".bias"] = ours.bias
        return s


class Clip(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        tc, vc = c["text_config"], c["vision_config"]
        self.c = c
        th, vh, P = tc["hidden_size"], vc["hidden_size"], vc["patch_size"]
        self.tok = torch.nn.Embedding(tc["vocab_size"], th)
        self.tpos = torch.nn.Embedding(tc["max_position_embeddings"], th)
        self.tlayers = torch.nn.ModuleList(
            Layer(th, tc["num_attention_heads"], tc["intermediate_size"], 1e-5, quick_gelu, True)
            for _ in range(tc["num_hidden_layers"]))
        self.final_ln = torch.nn.LayerNorm(th, eps=1e-5)
        self.cls = torch.nn.Parameter(torch.zeros(vh))
        self.patch = torch.nn.Conv2d(3, vh, P, stride=P, bias=False)
        n = (vc["image_size"] // P) ** 2 + 1
        self.vpos = torch.nn.Embedding(n, vh)
        self.pre_ln, self.post_ln = torch.nn.LayerNorm(vh, eps=1e-5), torch.nn.LayerNorm(vh, eps=1e-5)
        self.vlayers = torch.nn.ModuleList(
            Layer(vh, vc["num_attention_heads"], vc["intermediate_size"], 1e-5, quick_gelu, True)
            for _ in range(vc["num_hidden_layers"]))
        self.tproj = torch.nn.Linear(th, c["projection_dim"], bias=False)
        self.vproj = torch.nn.Linear(vh, c["projection_dim"], bias=False)

    def text(self, ids, attention_mask, eot):
        b, t = ids.shape
        x = self.tok(ids) + self.tpos(torch.arange(t))[None]
        neg = torch.finfo(torch.float32).min
        causal = torch.triu(torch.full((t, t), neg), diagonal=1)[None, None]
        pad = (1.0 - attention_mask[:, None, None, :].float()) * neg
        mask = causal + pad
        for l in self.tlayers:
            x = l(x, mask)
        x = self.final_ln(x)
        at = (ids == eot).int().argmax(dim=-1)
        return self.tproj(x[torch.arange(b), at])

    def image(self, pixels):
        b = pixels.shape[0]
        p = self.patch(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(b, 1, -1), p], dim=1) + self.vpos.weight[None]
        x = self.pre_ln(x)
        zero = torch.zeros(1, 1, x.shape[1], x.shape[1])
        for l in self.vlayers:
            x = l(x, zero)
        return self.vproj(self.post_ln(x[:, 0]))

    def hf_state(self):
        s = {"text_model.embeddings.token_embedding.weight": self.tok.weight,
             "text_model.embeddings.position_embedding.weight": self.tpos.weight,
             "text_model.final_layer_norm.weight": self.final_ln.weight,
             "text_model.final_layer_norm.bias": self.final_ln.bias,
             "vision_model.embeddings.class_embedding": self.cls,
             "vision_model.embeddings.patch_embedding.weight": self.patch.weight,
             "vision_model.embeddings.position_embedding.weight": self.vpos.weight,
             "vision_model.pre_layrnorm.weight": self.pre_ln.weight, "vision_model.pre_layrnorm.bias": self.pre_ln.bias,
             "vision_model.post_layernorm.weight": self.post_ln.weight,
             "vision_model.post_layernorm.bias": self.post_ln.bias,
             "text_projection.weight": self.tproj.weight, "visual_projection.weight": self.vproj.weight,
             "logit_scale": torch.tensor(2.6592)}
        for tower, layers in (("text_model", self.tlayers), ("vision_model", self.vlayers)):
            for i, l in enumerate(layers):
                p = f"{tower}.encoder.layers.{i}."
                for ours, theirs in [(l.attn.q, "self_attn.q_proj"), (l.attn.k, "self_attn.k_proj"),
                                     (l.attn.v, "self_attn.v_proj"), (l.attn.o, "self_attn.out_proj"),
                                     (l.fc1, "mlp.fc1"), (l.fc2, "mlp.fc2"), (l.ln1, "layer_norm1"),
                                     (l.ln2, "layer_norm2")]:
                    s[p + theirs + ".weight"] = ours.weight
                    s[p + theirs + ".bias"] = ours.bias
        return s


# --- tokenizers, from the published algorithms --------------------------------
def bert_vocab():
    with open(os.path.join(TOK, "bert_uncased_vocab.txt"), encoding="utf-8") as f:
        return {t.rstrip("\n"): i for i, t in enumerate(f)}


def bert_tokenize(text, vocab, lower=True):
    def is_ws(c):
        return c in " \t\n\r" or unicodedata.category(c) == "Zs"

    def is_ctrl(c):
        return c not in "\t\n\r" and unicodedata.category(c).startswith("C")

    def is_punct(c):
        o = ord(c)
        return 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126 or unicodedata.category(c).startswith("P")

    def is_cjk(o):
        return any(a <= o <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                            (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])

    out = []
    for c in text:
        if ord(c) in (0, 0xFFFD) or is_ctrl(c):
            continue
        out.append(" " if is_ws(c) else f" {c} " if is_cjk(ord(c)) else c)
    words = []
    for w in unicodedata.normalize("NFC", "".join(out)).split():
        if lower:
            w = "".join(c for c in unicodedata.normalize("NFD", w.lower()) if unicodedata.category(c) != "Mn")
        cur = ""
        for c in w:
            if is_punct(c):
                if cur:
                    words.append(cur)
                words.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
    ids = []
    for w in words:
        if len(w) > 100:
            ids.append(vocab["[UNK]"])
            continue
        pieces, start, bad = [], 0, False
        while start < len(w):
            end = len(w)
            while end > start and (("##" if start else "") + w[start:end]) not in vocab:
                end -= 1
            if end == start:
                bad = True
                break
            pieces.append(vocab[("##" if start else "") + w[start:end]])
            start = end
        ids.extend([vocab["[UNK]"]] if bad else pieces)
    return ids


def clip_tables():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    enc = {b: chr(c) for b, c in zip(bs, cs)}
    merges = gzip.open(os.path.join(TOK, "clip_bpe_simple_vocab_16e6.txt.gz")).read().decode().split("\n")
    merges = [tuple(m.split()) for m in merges[1:49152 - 256 - 2 + 1]]
    vocab = list(enc.values())
    vocab += [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return enc, {m: i for i, m in enumerate(merges)}, {v: i for i, v in enumerate(vocab)}


def clip_tokenize(text, tables):
    enc, ranks, vocab = tables
    text = html.unescape(html.unescape(unicodedata.normalize("NFC", text))).strip()
    text = regex.sub(r"\s+", " ", text).strip().lower()
    pat = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                        regex.IGNORECASE)
    ids = []
    for tok in regex.findall(pat, text):
        if tok in ("<|startoftext|>", "<|endoftext|>"):
            ids.append(vocab[tok])
            continue
        word = [enc[b] for b in tok.encode("utf-8")]
        word[-1] += "</w>"
        while len(word) > 1:
            pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
            r, _ = min(pairs)
            if r == 1 << 30:
                break
            first, second = [p for p, q in ranks.items() if q == r][0]
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        ids.extend(vocab[w] for w in word)
    return ids


BENCH_BERT_LEN, BENCH_CLIP_LEN = 32, 20

TEXTS = [
    "", "hello world", "A photo of a cat.", "Héllo, Wörld! Crème brûlée façade naïve",
    "She wore a navy blazer & white sneakers; it's 20% off (today only)!!!",
    "emoji 👗👠 and 🧥 jackets", "中文字符 and 日本語のテキスト mixed", "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ",
    "supercalifragilisticexpialidocious" * 4, "a" * 120, "don't you'll we've I'm they'd",
    "tab\tnew\nline  spaces\u00a0nbsp \u200b zero-width", "&amp; &lt;b&gt; &#39;quoted&#39; &amp;amp;",
    "numbers 12345 and 3.14159, 1,000,000", "Ωμέγα ελληνικά and Кириллица", "pre-owned mid-century modern",
]


def main():
    out = sys.argv[1]
    full = "--full" in sys.argv
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    ref = {"texts": TEXTS}

    bv = bert_vocab()
    ref["bert_ids"] = [[101] + bert_tokenize(t, bv) + [102] for t in TEXTS]
    tables = clip_tables()
    ref["clip_ids"] = [[49406] + clip_tokenize(t, tables) + [49407] for t in TEXTS]

    bcfg = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 30522,
            "hidden_size": 384 if full else 64, "num_hidden_layers": 6 if full else 2,
            "num_attention_heads": 12 if full else 4, "intermediate_size": 1536 if full else 128,
            "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
            "position_embedding_type": "absolute"}
    ccfg = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 512 if full else 32,
            "text_config": {"vocab_size": 49408, "hidden_size": 512 if full else 64,
                            "intermediate_size": 2048 if full else 128, "num_attention_heads": 8 if full else 4,
                            "num_hidden_layers": 12 if full else 2, "max_position_embeddings": 77,
                            "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5},
            "vision_config": {"hidden_size": 768 if full else 64, "intermediate_size": 3072 if full else 128,
                              "num_attention_heads": 12 if full else 4, "num_hidden_layers": 12 if full else 2,
                              "image_size": 224 if full else 64, "patch_size": 32 if full else 16,
                              "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}}

    bert = Bert(bcfg).eval()
    randomize(bert, 0.02 if full else 0.15)
    clip = Clip(ccfg).eval()
    randomize(clip, 0.02 if full else 0.15)

    bdir = os.path.join(out, "minilm-l6" if full else "bert-tiny")
    cdir = os.path.join(out, "clip-vit-b32" if full else "clip-tiny")
    for d in (bdir, cdir, os.path.join(bdir, "1_Pooling")):
        os.makedirs(d, exist_ok=True)
    json.dump(bcfg, open(os.path.join(bdir, "config.json"), "w"), indent=1)
    json.dump(ccfg, open(os.path.join(cdir, "config.json"), "w"), indent=1)
    save_safetensors(os.path.join(bdir, "model.safetensors"), bert.hf_state())
    save_safetensors(os.path.join(cdir, "model.safetensors"), clip.hf_state())
    shutil.copy(os.path.join(TOK, "bert_uncased_vocab.txt"), os.path.join(bdir, "vocab.txt"))
    shutil.copy(os.path.join(TOK, "minilm_tokenizer_config.json"), os.path.join(bdir, "tokenizer_config.json"))
    json.dump({"word_embedding_dimension": bcfg["hidden_size"], "pooling_mode_mean_tokens": True,
               "pooling_mode_cls_token": False}, open(os.path.join(bdir, "1_Pooling", "config.json"), "w"))
    json.dump({"max_seq_length": 256, "do_lower_case": False}, open(os.path.join(bdir, "sentence_bert_config.json"), "w"))
    shutil.copy(os.path.join(TOK, "clip_bpe_simple_vocab_16e6.txt.gz"), os.path.join(cdir, "bpe_simple_vocab_16e6.txt.gz"))
    # The same tokenizer in Hugging Face's files (vocab.json + merges.txt).
    enc, ranks, vocab = tables  # noqa: F841
    hdir = os.path.join(out, "clip-hf-tokenizer")
    os.makedirs(hdir, exist_ok=True)
    json.dump(vocab, open(os.path.join(hdir, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
    with open(os.path.join(hdir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for (a, b), _ in sorted(ranks.items(), key=lambda kv: kv[1])))

    if full:  # TorchScript twins for bench/encoders, same weights, fixed lengths
        class ClipText(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, ids, mask):
                return self.m.text(ids, mask, 49407)

        class ClipImage(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, pixels):
                return self.m.image(pixels)

        g = torch.Generator().manual_seed(3)
        inputs = {}
        with torch.no_grad():
            for b in (1, 8):
                ids = torch.randint(1000, 30000, (b, BENCH_BERT_LEN), generator=g)
                ids[:, 0], ids[:, -1] = 101, 102
                cid = torch.randint(1000, 49000, (b, BENCH_CLIP_LEN), generator=g)
                cid[:, 0], cid[:, -1] = 49406, 49407
                pix = torch.randn(b, 3, 224, 224, generator=g)
                torch.jit.trace(bert, (ids, torch.ones_like(ids))).save(os.path.join(out, f"bert_b{b}.pt"))
                torch.jit.trace(ClipText(clip), (cid, torch.ones_like(cid))).save(os.path.join(out, f"clip_text_b{b}.pt"))
                torch.jit.trace(ClipImage(clip), pix).save(os.path.join(out, f"clip_image_b{b}.pt"))
                inputs[f"b{b}"] = {"bert_ids": ids.tolist(), "clip_ids": cid.tolist(), "pixels_seed": 3,
                                   "bert_out": bert(ids, torch.ones_like(ids))[0, 0, :8].tolist(),
                                   "clip_text_out": clip.text(cid, torch.ones_like(cid), 49407)[0, :8].tolist(),
                                   "clip_image_out": clip.image(pix)[0, :8].tolist()}
                pix.numpy().astype("<f4").tofile(os.path.join(out, f"pixels_b{b}.f32"))
        json.dump(inputs, open(os.path.join(out, "bench_inputs.json"), "w"))
        return

    # Reference outputs on several batch shapes: every text alone, then all
    # of them in one padded batch.
    with torch.no_grad():
        bert_out = []
        for batch in ([[i] for i in range(len(TEXTS))] + [list(range(len(TEXTS)))]):
            seqs = [ref["bert_ids"][i][:256] for i in batch]
            t = max(map(len, seqs))
            ids = torch.tensor([s + [0] * (t - len(s)) for s in seqs])
            mask = torch.tensor([[1] * len(s) + [0] * (t - len(s)) for s in seqs])
            h = bert(ids, mask)
            m = mask[..., None].float()
            pooled = F.normalize((h * m).sum(1) / m.sum(1), dim=-1)
            bert_out.append({"batch": batch, "hidden": [h[i, :len(s)].flatten().tolist() for i, s in enumerate(seqs)],
                             "pooled": pooled.tolist()})
        ref["bert"] = bert_out

        clip_text = []
        for batch in ([[i] for i in range(len(TEXTS))] + [list(range(len(TEXTS)))]):
            seqs = [ref["clip_ids"][i][:76] + ([49407] if len(ref["clip_ids"][i]) > 77 else ref["clip_ids"][i][76:77])
                    for i in batch]
            t = max(map(len, seqs))
            ids = torch.tensor([s + [0] * (t - len(s)) for s in seqs])
            mask = torch.tensor([[1] * len(s) + [0] * (t - len(s)) for s in seqs])
            clip_text.append({"batch": batch, "ids": seqs, "embeds": clip.text(ids, mask, 49407).tolist()})
        ref["clip_text"] = clip_text

        # Pixels: real photos preprocessed as CLIPImageProcessor does (PIL
        # bicubic resize of the shorter side, floor-centred crop, /255, mean/std).
        size = ccfg["vision_config"]["image_size"]
        mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
        std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
        photos = sorted(os.listdir(os.path.join(SHARED, "data", "coco", "images", "val2017")))[:3]
        pix, names = [], []
        for p in photos:
            im = Image.open(os.path.join(SHARED, "data", "coco", "images", "val2017", p)).convert("RGB")
            w, h = im.size
            nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
            im = im.resize((nw, nh), Image.BICUBIC)
            top, left = (nh - size) // 2, (nw - size) // 2
            a = np.asarray(im, dtype=np.float32)[top:top + size, left:left + size] / 255.0
            pix.append(((a - mean) / std).transpose(2, 0, 1))
            names.append(p)
        g = torch.Generator().manual_seed(7)
        pixels = torch.cat([torch.tensor(np.stack(pix)), torch.randn(2, 3, size, size, generator=g)])
        ref["clip_image"] = {"photos": names, "pixels": pixels.flatten().tolist(), "n": pixels.shape[0],
                             "embeds": clip.image(pixels).tolist(), "embeds_single": [clip.image(pixels[i:i + 1])[0].tolist() for i in range(pixels.shape[0])]}

    # The same BERT weights as F16 and BF16, nested under "bert." like task
    # checkpoints: the loader must convert and find them.
    for dt, name in ((torch.float16, "bert-tiny-f16"), (torch.bfloat16, "bert-tiny-bf16")):
        d = os.path.join(out, name)
        shutil.copytree(bdir, d, dirs_exist_ok=True)
        save_safetensors(os.path.join(d, "model.safetensors"), bert.hf_state("bert."), dt)
        with torch.no_grad():
            b16 = Bert(bcfg).eval()
            b16.load_state_dict({k: v.to(dt).float() for k, v in bert.state_dict().items()})
            s = ref["bert_ids"][4]
            h = b16(torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long))
            ref[name] = F.normalize(h.mean(1), dim=-1)[0].tolist()

    json.dump(ref, open(os.path.join(out, "reference.json"), "w"))


if __name__ == "__main__":
    main()
