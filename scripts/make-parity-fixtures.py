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
            nn.TransformerEncoderLayer(c["hidden"], c["heads"], c["ff"], dropout=0.0, activation=ACTIVATIONS[c["act"]],
                                       layer_norm_eps=c["eps"], batch_first=True, norm_first=False)
            for _ in range(c["layers"]))
        self.head_dense = nn.Linear(c["hidden"], c["hidden"])
        self.head_out = nn.Linear(c["hidden"], len(LABELS))

    def encode(self, ids, mask, type_ids):
        """The last layer's hidden states [B, T, H]."""
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
        return x

    def forward(self, ids, mask, type_ids):
        first = self.encode(ids, mask, type_ids)[:, 0]
        if self.family == "bert":  # pooler (tanh) -> classifier
            return self.head_out(torch.tanh(self.head_dense(first)))
        if self.family == "distilbert":  # pre_classifier -> ReLU -> classifier
            return self.head_out(torch.relu(self.head_dense(first)))
        if self.family == "electra":  # classifier.dense -> gelu -> classifier.out_proj
            return self.head_out(F.gelu(self.head_dense(first)))
        return self.head_out(torch.tanh(self.head_dense(first)))  # roberta: dense -> tanh -> out_proj


ACTIVATIONS = {"gelu": "gelu", "relu": "relu", "gelu_new": lambda x: F.gelu(x, approximate="tanh")}

# Masked-LM heads (packages/text/src/mlm.ts), one tiny checkpoint per family, under
# packages/text/test/fixtures/transformers-mlm/<family>/. Hidden activations differ from the head's where HF fixes the
# head's (RoBERTa and ELECTRA: gelu; BERT: hidden_act, here the tanh approximation; DistilBERT: activation), so a head
# that used the wrong one fails the comparison.
MLM_SEQ_LEN = 8
MLM_LENGTHS = [8, 5, 3]
MLM_FAMILIES = {
    "bert": dict(vocab=64, hidden=32, embedding=32, heads=4, ff=48, layers=1, positions=16, types=2, eps=1e-12,
                 pad=0, act="gelu_new", seed=21),
    "electra": dict(vocab=64, hidden=32, embedding=16, heads=4, ff=48, layers=1, positions=16, types=2, eps=1e-12,
                    pad=0, act="relu", seed=22),
    "distilbert": dict(vocab=64, hidden=32, embedding=32, heads=4, ff=48, layers=1, positions=16, types=0,
                       eps=1e-12, pad=0, act="relu", seed=23),
    "roberta": dict(vocab=64, hidden=32, embedding=32, heads=4, ff=48, layers=1, positions=18, types=1, eps=1e-5,
                    pad=1, act="relu", seed=24),
}
# [HF class, dense, LayerNorm, bias, tied decoder weight, tied decoder bias (BERT/RoBERTa)] per family, from
# transformers' modeling_*.py (BertLMPredictionHead, RobertaLMHead, DistilBertForMaskedLM, ElectraGeneratorPredictions).
MLM_NAMES = {
    "bert": ("BertForMaskedLM", "cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm",
             "cls.predictions.bias", "cls.predictions.decoder.weight", "cls.predictions.decoder.bias"),
    "roberta": ("RobertaForMaskedLM", "lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder.weight",
                "lm_head.decoder.bias"),
    "distilbert": ("DistilBertForMaskedLM", "vocab_transform", "vocab_layer_norm", "vocab_projector.bias",
                   "vocab_projector.weight", None),
    "electra": ("ElectraForMaskedLM", "generator_predictions.dense", "generator_predictions.LayerNorm",
                "generator_lm_head.bias", "generator_lm_head.weight", None),
}
# Checkpoints of these families also hold the tied names (as older conversions do); the others omit them, as
# transformers' safetensors writer does.
MLM_WRITE_TIED = {"bert", "roberta"}


class MlmReference(Reference):
    """The encoder of `Reference` with a masked-LM head of torch modules: dense -> act -> LayerNorm -> tied decoder."""

    def __init__(self, family, c):
        super().__init__(family, c)
        width = c["embedding"] if family == "electra" else c["hidden"]
        self.mlm_dense = nn.Linear(c["hidden"], width)
        # DistilBertForMaskedLM's vocab_layer_norm has eps 1e-12 whatever the config says.
        self.mlm_norm = nn.LayerNorm(width, eps=1e-12 if family == "distilbert" else c["eps"])
        self.decoder = nn.Linear(width, c["vocab"])
        self.decoder.weight = self.word.weight  # tied to the word embeddings
        # RobertaLMHead / ElectraGeneratorPredictions: gelu; BertPredictionHeadTransform: hidden_act; DistilBERT: activation.
        act = ACTIVATIONS[c["act"]]
        self.mlm_act = F.gelu if family in ("roberta", "electra") else getattr(F, act) if isinstance(act, str) else act

    def forward(self, ids, mask, type_ids):
        x = self.encode(ids, mask, type_ids)
        return self.decoder(self.mlm_norm(self.mlm_act(self.mlm_dense(x))))


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


def hf_state(model, head=True):
    """The weights under Hugging Face names (torch layouts); `head`: the classification head too."""
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
    if not head:
        return {k: v.detach().to(torch.float32).clone() for k, v in out.items()}
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


def mlm_state(model):
    """The masked LM's weights under Hugging Face names: encoder, head, and the tied names where MLM_WRITE_TIED."""
    fam = model.family
    _, dense, norm, bias, decoder, decoder_bias = MLM_NAMES[fam]
    out = hf_state(model, head=False)
    for name, mod in ((dense, model.mlm_dense), (norm, model.mlm_norm)):
        out[name + ".weight"] = mod.weight.detach().to(torch.float32).clone()
        out[name + ".bias"] = mod.bias.detach().to(torch.float32).clone()
    out[bias] = model.decoder.bias.detach().to(torch.float32).clone()
    if fam in MLM_WRITE_TIED:
        out[decoder] = model.decoder.weight.detach().to(torch.float32).clone()
        if decoder_bias:
            out[decoder_bias] = out[bias].clone()
    return out


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


def make_batch(c, gen, lengths=LENGTHS, seq_len=SEQ_LEN):
    """3 sequences: a first token, random ids (never the pad id), a second segment (type 1) where types exist."""
    ids = torch.full((len(lengths), seq_len), c["pad"], dtype=torch.long)
    mask = torch.zeros((len(lengths), seq_len), dtype=torch.long)
    types = torch.zeros((len(lengths), seq_len), dtype=torch.long)
    for r, n in enumerate(lengths):
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
    parser.add_argument("--mlm-out", default="packages/text/test/fixtures/transformers-mlm")
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

    for family, c in MLM_FAMILIES.items():
        gen = torch.Generator().manual_seed(c["seed"])
        model = MlmReference(family, c)
        randomise(model, gen)
        model.eval()
        state = mlm_state(model)
        ids, mask, types = make_batch(c, gen, MLM_LENGTHS, MLM_SEQ_LEN)
        with torch.no_grad():
            logits = model.double()(ids, mask, types)
        folder = os.path.join(args.mlm_out, family)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(state, {"format": "pt"}))
        cfg = hf_config(family, c)
        for key in ("id2label", "label2id"):
            del cfg[key]
        cfg["architectures"] = [MLM_NAMES[family][0]]
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        # Logits of the real tokens only ([B, T, V] with padded positions null): HF computes them at padding too,
        # but nothing reads them.
        rows = [[[float("%.7g" % v) for v in logits[b, t].tolist()] if mask[b, t] else None
                 for t in range(MLM_SEQ_LEN)] for b in range(len(MLM_LENGTHS))]
        reference = {
            "family": family,
            "generator": "scripts/make-parity-fixtures.py (torch %s, float64 forward)" % torch.__version__,
            "input_ids": ids.tolist(),
            "attention_mask": mask.tolist(),
            "token_type_ids": types.tolist(),
            "logits": rows,
        }
        with open(os.path.join(folder, "reference.json"), "w") as f:
            json.dump(reference, f, separators=(",", ":"))
            f.write("\n")
        assert all(math.isfinite(v) for r in rows for t in r if t for v in t)
        print("%s masked LM: %d tensors, logits[0,0,:3] %s" % (family, len(state), rows[0][0][:3]))


if __name__ == "__main__":
    main()
