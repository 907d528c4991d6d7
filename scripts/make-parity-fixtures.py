#!/usr/bin/env python3
"""Parity fixtures for Parry's tfjs BERT-family encoders (packages/text/src/encoder.ts).

For each family (bert, electra, distilbert, roberta) this builds a tiny sequence classifier from PyTorch's own
building blocks - nn.TransformerEncoderLayer (post-LN, batch_first, dropout 0), nn.Embedding, nn.LayerNorm and
nn.Linear heads - with seeded random weights (std 0.3, so the comparison is sensitive), runs a padded batch of 3
sequences through it in float64, and writes under packages/text/test/fixtures/transformers/<family>/:

  config.json        Hugging Face config keys of the family (3 labels)
  model.safetensors  the weights in float32 under Hugging Face parameter names and torch layouts (Linear [out, in])
  reference.json     input_ids, attention_mask, token_type_ids and the reference logits

The reference never uses Parry's code or Hugging Face transformers: attention, feed-forward and the post-LN
residuals come from torch; the embeddings (RoBERTa's padding-aware position ids included) and heads follow the
modeling_*.py descriptions. nn.MultiheadAttention's in_proj is split into query/key/value on export.
The safetensors file is written by hand in the layout of the reference (Rust) library: an 8-byte little-endian
header size, a compact JSON header padded with spaces to a multiple of 8, tensors ordered by dtype alignment then name.
Output is deterministic.

Run from the repository root with Debian's Python (torch 1.13 + numpy; no transformers or safetensors needed):

    /usr/bin/python3 scripts/make-parity-fixtures.py [--out packages/text/test/fixtures/transformers]
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

WEIGHT_STD = 0.3
BIAS_STD = 0.1
LABELS = ["negative", "neutral", "positive"]
SEQ_LEN = 10
LENGTHS = [10, 7, 4]  # tokens per sequence; the rest is padding

FAMILIES = {
    "bert": dict(vocab=100, hidden=24, embedding=24, heads=3, ff=48, layers=2, positions=16, types=2, eps=1e-12,
                 pad=0, act="gelu", seed=11),
    "electra": dict(vocab=100, hidden=32, embedding=16, heads=4, ff=48, layers=2, positions=16, types=2, eps=1e-12,
                    pad=0, act="gelu", seed=12),
    "distilbert": dict(vocab=100, hidden=24, embedding=24, heads=2, ff=64, layers=2, positions=16, types=0,
                       eps=1e-12, pad=0, act="relu", seed=13),
    "roberta": dict(vocab=100, hidden=24, embedding=24, heads=4, ff=48, layers=2, positions=18, types=1, eps=1e-5,
                    pad=1, act="gelu", seed=14),
}


class Reference(nn.Module):
    """A sequence classifier of one family, made of torch modules."""

    def __init__(self, family, c):
        super().__init__()
        self.family, self.c = family, c
        self.word = nn.Embedding(c["vocab"], c["embedding"])
        self.pos = nn.Embedding(c["positions"], c["embedding"])
        self.types = nn.Embedding(c["types"], c["embedding"]) if c["types"] > 0 else None
        self.emb_norm = nn.LayerNorm(c["embedding"], eps=c["eps"])
        self.project = nn.Linear(c["embedding"], c["hidden"]) if c["embedding"] != c["hidden"] else None
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(c["hidden"], c["heads"], c["ff"], dropout=0.0, activation=c["act"],
                                       layer_norm_eps=c["eps"], batch_first=True, norm_first=False)
            for _ in range(c["layers"]))
        self.head_dense = nn.Linear(c["hidden"], c["hidden"])
        self.head_out = nn.Linear(c["hidden"], len(LABELS))

    def forward(self, ids, mask, type_ids):
        b, t = ids.shape
        if self.family == "roberta":
            # padding_idx + running count of real tokens; padding positions get padding_idx
            real = (ids != self.c["pad"]).long()
            positions = torch.cumsum(real, dim=1) * real + self.c["pad"]
        else:
            positions = torch.arange(t).unsqueeze(0).expand(b, t)
        x = self.word(ids) + self.pos(positions)
        if self.types is not None:
            x = x + self.types(type_ids)
        x = self.emb_norm(x)
        if self.project is not None:
            x = self.project(x)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=(mask == 0))
        first = x[:, 0]
        if self.family == "bert":  # pooler (tanh) -> classifier
            return self.head_out(torch.tanh(self.head_dense(first)))
        if self.family == "distilbert":  # pre_classifier -> ReLU -> classifier
            return self.head_out(torch.relu(self.head_dense(first)))
        if self.family == "electra":  # classifier.dense -> gelu -> classifier.out_proj
            return self.head_out(F.gelu(self.head_dense(first)))
        return self.head_out(torch.tanh(self.head_dense(first)))  # roberta: dense -> tanh -> out_proj


def randomise(model, gen):
    for name, p in model.named_parameters():
        with torch.no_grad():
            if "norm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(BIAS_STD * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(WEIGHT_STD * torch.randn(p.shape, generator=gen))


def hf_state(model):
    """The weights under Hugging Face names (torch layouts)."""
    fam, c = model.family, model.c
    out = {}

    def linear(name, mod):
        out[name + ".weight"] = mod.weight
        out[name + ".bias"] = mod.bias

    emb = fam + ".embeddings"
    out[emb + ".word_embeddings.weight"] = model.word.weight
    out[emb + ".position_embeddings.weight"] = model.pos.weight
    if model.types is not None:
        out[emb + ".token_type_embeddings.weight"] = model.types.weight
    linear(emb + ".LayerNorm", model.emb_norm)
    if model.project is not None:
        linear("electra.embeddings_project", model.project)
    h = c["hidden"]
    for i, layer in enumerate(model.layers):
        w, b = layer.self_attn.in_proj_weight, layer.self_attn.in_proj_bias
        if fam == "distilbert":
            n = "distilbert.transformer.layer.%d" % i
            names = [n + ".attention.q_lin", n + ".attention.k_lin", n + ".attention.v_lin", n + ".attention.out_lin",
                     n + ".sa_layer_norm", n + ".ffn.lin1", n + ".ffn.lin2", n + ".output_layer_norm"]
        else:
            n = "%s.encoder.layer.%d" % (fam, i)
            names = [n + ".attention.self.query", n + ".attention.self.key", n + ".attention.self.value",
                     n + ".attention.output.dense", n + ".attention.output.LayerNorm", n + ".intermediate.dense",
                     n + ".output.dense", n + ".output.LayerNorm"]
        for j in range(3):
            out[names[j] + ".weight"] = w[j * h:(j + 1) * h]
            out[names[j] + ".bias"] = b[j * h:(j + 1) * h]
        linear(names[3], layer.self_attn.out_proj)
        linear(names[4], layer.norm1)
        linear(names[5], layer.linear1)
        linear(names[6], layer.linear2)
        linear(names[7], layer.norm2)
    heads = {"bert": ("bert.pooler.dense", "classifier"), "distilbert": ("pre_classifier", "classifier"),
             "electra": ("classifier.dense", "classifier.out_proj"),
             "roberta": ("classifier.dense", "classifier.out_proj")}[fam]
    linear(heads[0], model.head_dense)
    linear(heads[1], model.head_out)
    return {k: v.detach().to(torch.float32).clone() for k, v in out.items()}


def safetensors_bytes(tensors, metadata):
    """Serialise float32 tensors as the safetensors library does (all F32, so ordered by name)."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        data = tensors[name].numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def hf_config(family, c):
    cfg = {"architectures": [{"bert": "Bert", "electra": "Electra", "distilbert": "DistilBert",
                               "roberta": "Roberta"}[family] + "ForSequenceClassification"],
           "model_type": family, "vocab_size": c["vocab"], "max_position_embeddings": c["positions"],
           "initializer_range": 0.02, "pad_token_id": c["pad"],
           "id2label": {str(i): n for i, n in enumerate(LABELS)}, "label2id": {n: i for i, n in enumerate(LABELS)},
           "torch_dtype": "float32"}
    if family == "distilbert":
        cfg.update(dim=c["hidden"], n_layers=c["layers"], n_heads=c["heads"], hidden_dim=c["ff"],
                   activation=c["act"], dropout=0.1, attention_dropout=0.1, seq_classif_dropout=0.2,
                   sinusoidal_pos_embds=False)
    else:
        cfg.update(hidden_size=c["hidden"], num_hidden_layers=c["layers"], num_attention_heads=c["heads"],
                   intermediate_size=c["ff"], hidden_act=c["act"], hidden_dropout_prob=0.1,
                   attention_probs_dropout_prob=0.1, type_vocab_size=c["types"], layer_norm_eps=c["eps"],
                   position_embedding_type="absolute", classifier_dropout=None)
        if family == "electra":
            cfg["embedding_size"] = c["embedding"]
        if family == "roberta":
            cfg.update(bos_token_id=0, eos_token_id=2)
    return cfg


def make_batch(c, gen):
    """3 sequences: a first token, random ids (never the pad id), a second segment (type 1) where types exist."""
    ids = torch.full((len(LENGTHS), SEQ_LEN), c["pad"], dtype=torch.long)
    mask = torch.zeros((len(LENGTHS), SEQ_LEN), dtype=torch.long)
    types = torch.zeros((len(LENGTHS), SEQ_LEN), dtype=torch.long)
    for r, n in enumerate(LENGTHS):
        row = torch.randint(3, c["vocab"], (n,), generator=gen)
        row[0] = 2
        ids[r, :n] = row
        mask[r, :n] = 1
        if c["types"] > 1:
            types[r, n // 2:n] = 1
    return ids, mask, types


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="packages/text/test/fixtures/transformers")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for family, c in FAMILIES.items():
        gen = torch.Generator().manual_seed(c["seed"])
        model = Reference(family, c)
        randomise(model, gen)
        model.eval()
        state = hf_state(model)
        ids, mask, types = make_batch(c, gen)
        with torch.no_grad():
            # float64 forward of the float32 weights: the reference carries no float32 rounding of its own.
            logits = model.double()(ids, mask, types)
        folder = os.path.join(args.out, family)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(state, {"format": "pt"}))
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(hf_config(family, c), f, indent=2)
            f.write("\n")
        reference = {
            "family": family,
            "generator": "scripts/make-parity-fixtures.py (torch %s, float64 forward)" % torch.__version__,
            "input_ids": ids.tolist(),
            "attention_mask": mask.tolist(),
            "token_type_ids": types.tolist(),
            "logits": [[float(v) for v in row] for row in logits.tolist()],
        }
        with open(os.path.join(folder, "reference.json"), "w") as f:
            json.dump(reference, f, indent=1)
            f.write("\n")
        assert all(math.isfinite(v) for row in reference["logits"] for v in row)
        print("%s: %d tensors, logits %s" % (family, len(state), [[round(v, 3) for v in r] for r in reference["logits"]]))


if __name__ == "__main__":
    main()
