#!/usr/bin/env python3
"""Optional PyTorch CPU reference for `pnpm bench` (apps/bench/src/bench.ts), and the PyTorch side of the alternating
MNIST comparison (packages/attacks/bench/mnist-vs-torch.mjs, `--once`).

Same attack as the Node bench: FGSM and PGD-40 (Linf, eps 0.3, step 0.01, random start) on the MNIST CNN of
Wong et al. 2020 (conv 16 4x4 s2, conv 32 4x4 s2, dense 100, dense 10), batch 256, torch.set_num_threads(2).
FGSM on 1024 images (4 batches), PGD-40 on 512 (2 batches); one warm-up batch, then the median of 3 repetitions.
Like Parry's runAttack, every batch also does one extra forward pass to evaluate success.

The model is trained briefly (1 epoch of Adam on the first 10k training images) so the robust accuracy is a sanity
check; attack speed does not depend on the weights. Writes docs/bench-torch.json, which the Node bench reads.

    /usr/bin/python3 scripts/bench-torch.py [--data DIR] [--out docs/bench-torch.json] [--threads 2]

`--once fgsm|pgd` instead makes one measurement for mnist-vs-torch.mjs and prints it as one JSON line (nothing is
written): random weights (torch's default initialisation, seed 0) and random images, no training; one warm-up batch,
then `--batches` batches of 256 timed together (attack + one forward pass per batch for success, as above), with the
BLAS torch mapped (scripts/torch_blas.py):

    /usr/bin/python3 scripts/bench-torch.py --once pgd --threads 1 --batches 4 [--steps 40]

Needs torch (Debian: apt-get install python3-torch) and numpy. The Node bench never requires it.
"""
import argparse
import datetime
import gzip
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPS, STEP, STEPS, BATCH = 0.3, 0.01, 40, 256


def read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find(d, base):
    for p in (os.path.join(d, base), os.path.join(d, base + '.gz')):
        if os.path.exists(p):
            return p
    return None


def load_mnist(d, n_train, n_test):
    files = [find(d, b) for b in ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')]
    if any(f is None for f in files):
        return None
    xtr, ytr, xte, yte = (read_idx(f) for f in files)
    to_x = lambda a, n: torch.from_numpy(a[:n].astype(np.float32) / 255.0).unsqueeze(1)  # NCHW
    to_y = lambda a, n: torch.from_numpy(a[:n].astype(np.int64))
    return to_x(xtr, n_train), to_y(ytr, n_train), to_x(xte, n_test), to_y(yte, n_test)


def wong_cnn():
    # padding 'same' for a 4x4 kernel with stride 2 on 28x28 and 14x14 (tfjs / TF): 2 in all, 1 before and 1 after,
    # which is torch's padding=1 (28 -> 14 -> 7), as in Parry's mnistCnn (packages/core/src/models.ts).
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 16, 4, stride=2, padding=1)
            self.c2 = nn.Conv2d(16, 32, 4, stride=2, padding=1)
            self.f1 = nn.Linear(32 * 7 * 7, 100)
            self.f2 = nn.Linear(100, 10)

        def forward(self, x):
            x = F.relu(self.c1(x))
            x = F.relu(self.c2(x))
            return self.f2(F.relu(self.f1(x.flatten(1))))

    return Net()


def fgsm(model, x, y):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    (g,) = torch.autograd.grad(loss, x)
    return (x.detach() + EPS * g.sign()).clamp(0, 1)


def pgd(model, x0, y, steps=STEPS, gen=None):
    x = (x0 + torch.empty_like(x0).uniform_(-EPS, EPS, generator=gen)).clamp(0, 1)
    for _ in range(steps):
        x.requires_grad_(True)
        loss = F.cross_entropy(model(x), y)
        (g,) = torch.autograd.grad(loss, x)
        x = torch.min(torch.max(x.detach() + STEP * g.sign(), x0 - EPS), x0 + EPS).clamp(0, 1)
    return x.detach()


def run(model, attack, x, y):
    """Attack in batches of 256 plus one forward pass per batch for success; returns (seconds, success rate)."""
    t0 = time.perf_counter()
    ok = 0
    for i in range(0, x.shape[0], BATCH):
        xb, yb = x[i:i + BATCH], y[i:i + BATCH]
        adv = attack(model, xb, yb)
        with torch.no_grad():
            ok += (model(adv).argmax(1) != yb).sum().item()
    return time.perf_counter() - t0, ok / x.shape[0]


def measure(model, xte, yte, threads, reps):
    """FGSM on 1024 and PGD-40 on 512 images at `threads` threads, plus one PGD step at batch 256."""
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    results = []
    for name, attack, n in (('FGSM', fgsm, 1024), ('PGD-40', lambda m, x, y: pgd(m, x, y, gen=gen), 512)):
        x, y = xte[:n], yte[:n]
        run(model, attack, x[:BATCH], y[:BATCH])  # warm-up
        times, succ = [], None
        for r in range(reps):
            s, rate = run(model, attack, x, y)
            times.append(s)
            succ = rate if succ is None else succ
            print(f'  {threads} thread(s) {name} rep {r + 1}: {s:.2f} s ({n / s:.1f} img/s)', file=sys.stderr)
        med = statistics.median(times)
        results.append({'attack': name, 'images': n, 'imagesPerSecond': n / med, 'bestImagesPerSecond': n / min(times),
                        'msPerBatch': med * 1000 / (n // BATCH), 'robustAccuracy': 1 - succ, 'repSeconds': times})
    x0, y0 = xte[:BATCH], yte[:BATCH]
    step_times = []
    for _ in range(6):
        t = time.perf_counter()
        pgd(model, x0, y0, steps=1, gen=gen)
        step_times.append(time.perf_counter() - t)
    return {'threads': threads, 'results': results, 'stepMs': statistics.median(step_times[1:]) * 1000,
            'loadavg': list(os.getloadavg())}


def once(attack, threads, batches, steps):
    """One measurement for mnist-vs-torch.mjs: one warm-up batch, then `batches` batches of 256 timed together."""
    from torch_blas import blas
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = wong_cnn()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    n = batches * BATCH
    x, y = torch.rand(n, 1, 28, 28), torch.randint(0, 10, (n,))
    gen = torch.Generator().manual_seed(0)
    fn = fgsm if attack == 'fgsm' else (lambda m, xb, yb: pgd(m, xb, yb, steps=steps, gen=gen))
    run(model, fn, x[:BATCH], y[:BATCH])  # warm-up
    seconds, success = run(model, fn, x, y)
    info, libs = blas()
    print(json.dumps(dict(engine='torch', threads=threads, attack=attack, steps=1 if attack == 'fgsm' else steps, batch=BATCH,
                          batches=batches, images=n, seconds=seconds, imagesPerSecond=n / seconds, successRate=success,
                          weights='random (torch default initialisation, seed 0)', load=list(os.getloadavg()),
                          torch=torch.__version__, blas=info, blasLibs=libs)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=os.environ.get('PARRY_DATA_DIR', os.path.join(ROOT, '..', 'shared', 'data', 'mnist')))
    ap.add_argument('--out', default=os.path.join(ROOT, 'docs', 'bench-torch.json'))
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--once', choices=['fgsm', 'pgd'], help='one measurement as a JSON line (mnist-vs-torch.mjs)')
    ap.add_argument('--batches', type=int, default=4, help='with --once: timed batches of 256')
    ap.add_argument('--steps', type=int, default=STEPS, help='with --once pgd: PGD steps')
    a = ap.parse_args()
    if a.once:
        if a.batches < 1 or a.steps < 1 or a.threads < 1:
            print(f'--batches {a.batches}, --steps {a.steps}, --threads {a.threads}: each must be at least 1', file=sys.stderr)
            sys.exit(2)
        once(a.once, a.threads, a.batches, a.steps)
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    load = list(os.getloadavg())
    data = load_mnist(a.data, 10000, 1024)
    if data is None:
        print(f'no MNIST IDX files in {a.data}; using random images (speed only)', file=sys.stderr)
        xtr, ytr = torch.rand(10000, 1, 28, 28), torch.randint(0, 10, (10000,))
        xte, yte = torch.rand(1024, 1, 28, 28), torch.randint(0, 10, (1024,))
        source = 'random images (MNIST IDX files not found)'
    else:
        xtr, ytr, xte, yte = data
        source = 'MNIST, 1 epoch on the first 10k training images'
    model = wong_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=(10000 + 63) // 64)
    t0 = time.perf_counter()
    perm = torch.randperm(xtr.shape[0])
    for i in range(0, xtr.shape[0], 64):
        idx = perm[i:i + 64]
        opt.zero_grad()
        F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
        opt.step()
        sched.step()
    train_s = time.perf_counter() - t0
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        clean = (model(xte).argmax(1) == yte).float().mean().item()
    print(f'torch {torch.__version__}, {a.threads} threads: trained in {train_s:.1f} s, clean accuracy {clean:.3f}', file=sys.stderr)

    primary = measure(model, xte, yte, a.threads, a.reps)
    # the same at 1 thread: Parry's default wasm backend runs 1 thread, and on a shared 2-core box a second
    # OpenMP thread often waits for a busy core
    single = measure(model, xte, yte, 1, a.reps) if a.threads != 1 else None
    torch.set_num_threads(a.threads)
    out = {
        'torch': torch.__version__,
        'python': platform.python_version(),
        'threads': torch.get_num_threads(),
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'machine': platform.processor() or platform.machine(),
        'batchSize': BATCH,
        'data': source,
        'cleanAccuracy': clean,
        'results': primary['results'],
        'stepMs': primary['stepMs'],
        'oneThread': single,
        'loadavg': load,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    os.replace(tmp, a.out)
    for run_ in (primary, single):
        if run_ is None:
            continue
        for r in run_['results']:
            print(f"{run_['threads']} thread(s) {r['attack']}: {r['imagesPerSecond']:.1f} img/s ({r['msPerBatch']:.0f} ms per batch), robust accuracy {r['robustAccuracy']:.3f}")
        print(f"{run_['threads']} thread(s) one PGD step at batch 256: {run_['stepMs']:.1f} ms")
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
