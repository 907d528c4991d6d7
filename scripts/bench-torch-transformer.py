#!/usr/bin/env python3
"""PyTorch side of the Transformer speed comparison (packages/text/bench/transformer-vs-torch.mjs runs it alternately
with Parry). One measurement per call, printed as one JSON line:

    python3 scripts/bench-torch-transformer.py --threads 1|2 --shape base|small --work forward|step [--reps 3]

The same shapes as packages/text/bench/transformer-speed.mjs: `base` = BERT-base (12 x 768, 12 heads, feed-forward
3072, vocabulary 30,522), batch 8 x 128; `small` = 2 x 128 (2 heads, 512, vocabulary 8,000), batch 32 x 64. The
model is built from torch's own modules (embeddings + LayerNorm, post-LN `nn.TransformerEncoderLayer` with GELU,
tanh pooler on the first token, linear classifier), random weights and token ids, no padding mask. `forward`: eval
mode, no_grad. `step`: train mode (dropout 0.1), cross-entropy, backward, AdamW step, on the whole batch (no
accumulation: PyTorch's memory holds it). Median of `reps` after one warm-up.

It reports which BLAS torch uses: Debian's python3-torch runs the reference BLAS unless an optimised one is
installed (`apt-get install libopenblas0-pthread`), which makes it several times slower; the driver refuses to
compare in that case (scripts/torch_blas.py).
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_blas import blas

SHAPES = {
    'base': dict(vocab=30522, hidden=768, layers=12, heads=12, ff=3072, batch=8, length=128),
    'small': dict(vocab=8000, hidden=128, layers=2, heads=2, ff=512, batch=32, length=64),
}


class Classifier(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.words = nn.Embedding(s['vocab'], s['hidden'])
        self.positions = nn.Embedding(512, s['hidden'])
        self.types = nn.Embedding(2, s['hidden'])
        self.norm = nn.LayerNorm(s['hidden'], eps=1e-12)
        self.drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(s['hidden'], s['heads'], s['ff'], dropout=0.1, activation='gelu', batch_first=True, norm_first=False, layer_norm_eps=1e-12)
        self.encoder = nn.TransformerEncoder(layer, s['layers'], enable_nested_tensor=False)
        self.pooler = nn.Linear(s['hidden'], s['hidden'])
        self.classifier = nn.Linear(s['hidden'], 2)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.drop(self.norm(self.words(ids) + self.positions(pos) + self.types(torch.zeros_like(ids))))
        h = self.encoder(x)
        return self.classifier(self.drop(torch.tanh(self.pooler(h[:, 0]))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--shape', default='small', choices=SHAPES)
    ap.add_argument('--work', default='forward', choices=['forward', 'step'])
    ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = SHAPES[a.shape]
    model = Classifier(s)
    ids = torch.randint(5, s['vocab'], (s['batch'], s['length']))
    labels = torch.arange(s['batch']) % 2
    times = []
    if a.work == 'forward':
        model.eval()
        with torch.no_grad():
            for r in range(a.reps + 1):
                t0 = time.perf_counter()
                model(ids)
                if r > 0:
                    times.append(time.perf_counter() - t0)
    else:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
        for r in range(a.reps + 1):
            t0 = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(ids), labels).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if r > 0:
                times.append(time.perf_counter() - t0)
    info, libs = blas()
    print(json.dumps(dict(engine='torch', threads=a.threads, shape=a.shape, work=a.work, batch=s['batch'], length=s['length'],
                          median=statistics.median(times), times=times, load=list(os.getloadavg()), torch=torch.__version__,
                          blas=info, blasLibs=libs)))


if __name__ == '__main__':
    main()
