#!/usr/bin/env python3
"""Export a Parry-saved BERT sequence classifier (Hugging Face folder) to ONNX for transformers.js.

Reads <dir>/config.json and <dir>/model.safetensors as written by Parry's `savePretrained` (or any
BertForSequenceClassification folder with safetensors weights), rebuilds the model in plain torch - embeddings,
post-LN encoder layers with explicit attention, tanh pooler, classifier - under the Hugging Face parameter names, and
writes <dir>/onnx/model.onnx with

  inputs   input_ids, attention_mask, token_type_ids   int64 [batch, sequence]
  output   logits                                      float32 [batch, num_labels]

dynamic batch and sequence axes, opset 14: the layout transformers.js' AutoModelForSequenceClassification expects.
The safetensors file is read by hand (8-byte little-endian header size, JSON header, raw little-endian data), so
neither `transformers` nor `safetensors` is needed, and neither is the `onnx` package (torch serialises the graph
itself). Before writing, the traced model is checked against an eager float64 forward of the same weights.
The output is deterministic for the same input folder and torch version.

Run from the repository root with Debian's Python (python3-torch 1.13; not a pyenv python):

    /usr/bin/python3 scripts/export-onnx.py path/to/model-folder [--opset 14]

Only model_type "bert" is supported; other families are refused with a message.
"""
import argparse
import io
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
MASK_NEG = -1e9  # additive attention bias of padded keys, as Parry's encoder uses


def fail(message):
    print("export-onnx: " + message, file=sys.stderr)
    sys.exit(1)


def read_safetensors(path):
    """Tensors of a safetensors file by name (float tensors only), widened to float32."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("%s is too short to be a safetensors file; re-save the model" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            continue  # integer buffers such as position_ids are not needed
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[start:end]), dtype=dtype) if end > start else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).to(torch.float32)
    return out


def activation(name):
    if name in ("gelu", "gelu_python"):
        return F.gelu
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    table = {"relu": F.relu, "silu": F.silu, "swish": F.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
             "linear": lambda x: x}
    if name not in table:
        fail("hidden_act %r is not supported by this exporter" % name)
    return table[name]


class Layer(nn.Module):
    def __init__(self, h, ff, eps):
        super().__init__()
        self.query, self.key, self.value, self.out = (nn.Linear(h, h) for _ in range(4))
        self.ln1 = nn.LayerNorm(h, eps=eps)
        self.ff1, self.ff2 = nn.Linear(h, ff), nn.Linear(ff, h)
        self.ln2 = nn.LayerNorm(h, eps=eps)


class Bert(nn.Module):
    """BertForSequenceClassification in eval mode (no dropout), from torch primitives."""

    def __init__(self, cfg):
        super().__init__()
        h, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-12)
        self.heads = cfg["num_attention_heads"]
        self.hidden, self.head_dim = h, h // self.heads
        if h % self.heads:
            fail("hidden_size %d is not a multiple of num_attention_heads %d" % (h, self.heads))
        self.scale = math.sqrt(h // self.heads)
        self.act = activation(cfg.get("hidden_act", "gelu"))
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.pos = nn.Embedding(cfg.get("max_position_embeddings", 512), h)
        self.types = nn.Embedding(cfg.get("type_vocab_size", 2), h)
        self.emb_norm = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(Layer(h, cfg["intermediate_size"], eps) for _ in range(cfg["num_hidden_layers"]))
        self.pooler = nn.Linear(h, h)
        self.classifier = nn.Linear(h, num_labels(cfg))

    def forward(self, input_ids, attention_mask, token_type_ids):
        b, t = input_ids.shape
        positions = torch.arange(t, device=input_ids.device).unsqueeze(0)
        x = self.word(input_ids) + self.pos(positions) + self.types(token_type_ids)
        x = self.emb_norm(x)
        h, d = self.hidden, self.head_dim
        bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * MASK_NEG  # [B, 1, 1, T]

        def split(y):
            return y.reshape(b, t, self.heads, d).transpose(1, 2)  # [B, heads, T, d]

        for layer in self.layers:
            q, k, v = split(layer.query(x)), split(layer.key(x)), split(layer.value(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + bias
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, h)
            x = layer.ln1(x + layer.out(ctx))
            x = layer.ln2(x + layer.ff2(self.act(layer.ff1(x))))
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(pooled)


def num_labels(cfg):
    if "id2label" in cfg:
        return len(cfg["id2label"])
    return cfg.get("num_labels", 2)


def hf_names(model):
    """Our parameters by Hugging Face name (torch layouts: Linear weight [out, in])."""
    names = {
        "bert.embeddings.word_embeddings.weight": model.word.weight,
        "bert.embeddings.position_embeddings.weight": model.pos.weight,
        "bert.embeddings.token_type_embeddings.weight": model.types.weight,
        "bert.embeddings.LayerNorm.weight": model.emb_norm.weight,
        "bert.embeddings.LayerNorm.bias": model.emb_norm.bias,
        "bert.pooler.dense.weight": model.pooler.weight,
        "bert.pooler.dense.bias": model.pooler.bias,
        "classifier.weight": model.classifier.weight,
        "classifier.bias": model.classifier.bias,
    }
    for i, layer in enumerate(model.layers):
        n = "bert.encoder.layer.%d." % i
        parts = {"attention.self.query": layer.query, "attention.self.key": layer.key,
                 "attention.self.value": layer.value, "attention.output.dense": layer.out,
                 "attention.output.LayerNorm": layer.ln1, "intermediate.dense": layer.ff1,
                 "output.dense": layer.ff2, "output.LayerNorm": layer.ln2}
        for part, mod in parts.items():
            names[n + part + ".weight"] = mod.weight
            names[n + part + ".bias"] = mod.bias
    return names


def load_weights(model, tensors, source):
    # Bare-encoder checkpoints have no `bert.` prefix; old TF conversions name LayerNorm parameters gamma / beta.
    fixed = {}
    for k, v in tensors.items():
        k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        if not k.startswith("bert.") and not k.startswith("classifier."):
            k = "bert." + k
        fixed[k] = v
    params = hf_names(model)
    missing = [k for k in params if k not in fixed]
    if missing:
        fail("%s lacks %d weight(s) of a BERT classifier (e.g. %s); is it a fine-tuned BertForSequenceClassification?"
             % (source, len(missing), ", ".join(missing[:3])))
    with torch.no_grad():
        for k, p in params.items():
            if tuple(fixed[k].shape) != tuple(p.shape):
                fail("%s: %s has shape %s, config.json implies %s" % (source, k, list(fixed[k].shape), list(p.shape)))
            p.copy_(fixed[k])


def check_batch(cfg):
    """A padded batch of 3 rows (lengths 9, 5, 2) with both segment ids, for the float64 check."""
    gen = torch.Generator().manual_seed(0)
    lengths, t = [9, 5, 2], 9
    ids = torch.zeros((3, t), dtype=torch.long)
    mask = torch.zeros((3, t), dtype=torch.long)
    types = torch.zeros((3, t), dtype=torch.long)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(1, cfg["vocab_size"], (n,), generator=gen)
        mask[r, :n] = 1
        if cfg.get("type_vocab_size", 2) > 1:
            types[r, n // 2:n] = 1
    return ids, mask, types


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="Hugging Face model folder with config.json and model.safetensors")
    parser.add_argument("--opset", type=int, default=14)
    args = parser.parse_args()
    config_path = os.path.join(args.dir, "config.json")
    weights_path = os.path.join(args.dir, "model.safetensors")
    for p in (config_path, weights_path):
        if not os.path.isfile(p):
            fail("%s not found; give a folder saved by Parry's savePretrained (config.json + model.safetensors)" % p)
    with open(config_path) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "bert":
        fail("%s: model_type %r is not supported; this exporter handles bert only" % (config_path, cfg.get("model_type")))
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        fail("%s: position_embedding_type must be absolute" % config_path)

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = Bert(cfg)
    load_weights(model, read_safetensors(weights_path), weights_path)
    model.eval()

    ids, mask, types = check_batch(cfg)
    with torch.no_grad():
        ref = model.double()(ids, mask, types)
        model.float()
        got = model(ids, mask, types).double()
    err = (ref - got).abs().max().item()
    if not err < 1e-4:
        fail("float32 forward differs from float64 by %g; the weights look unstable" % err)

    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            model, (ids, mask, types), buf,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                          "token_type_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
            opset_version=args.opset, do_constant_folding=True)
    out_dir = os.path.join(args.dir, "onnx")
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, "model.onnx")
    tmp = target + ".tmp-%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, target)  # atomic: a crash leaves the old file or the new one
    print("wrote %s (%d bytes, %d labels, max |float32 - float64| logits %.2g)"
          % (target, len(buf.getvalue()), num_labels(cfg), err))


if __name__ == "__main__":
    main()
