import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Encoding, initBackend, UsageError } from '@parry/core';
import { createTransformerClassifier, smallConfig, type TransformerClassifier } from '@parry/text';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeBatch, padBatch, predictText } from '@parry/text';
import {
  embeddingPgdAccuracy,
  fgm,
  fgmPerturbation,
  freelb,
  freelbInit,
  freelbStep,
  perExampleNorm,
  pgdEmbed,
  pgdStep,
  projectPerturbation,
  randomInBall,
  rdrop,
  smart,
  symmetricKl,
} from './embedding-defenses.js';
import {
  cleanGradients,
  type EncodedTextSet,
  type StepGradients,
  type TextDefense,
  type TextStepContext,
  textLoss,
  textMetrics,
  trainText,
} from './trainer.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const PAD = 0;
const TINY = { vocabSize: 50, hiddenSize: 16, numHeads: 2, intermediateSize: 32, numLayers: 1 };

function tinyModel(seed: number, extra: Parameters<typeof smallConfig>[1] = {}): TransformerClassifier {
  return createTransformerClassifier(smallConfig('bert', { ...TINY, ...extra }), { seed });
}

/**
 * Toy data: `[CLS] w... [SEP]` with words 4..49. Single-label: class 1 iff the text holds a word < 27. Multi-label
 * (3 labels): label j iff the text holds a word in [4 + 15j, 19 + 15j).
 */
function toyData(n: number, seed: number, multi: boolean): EncodedTextSet {
  const rng = createRng(seed);
  const encodings: Encoding[] = [];
  const labels = multi ? new Float32Array(n * 3) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const len = 3 + rng.int(6);
    const words = Array.from({ length: len }, () => 4 + rng.int(46));
    if (!multi) {
      // Balance: half the texts use only words >= 27.
      if (i % 2 === 0) for (let k = 0; k < len; k++) words[k] = 27 + rng.int(23);
      labels[i] = words.some((w) => w < 27) ? 1 : 0;
    } else {
      for (let j = 0; j < 3; j++) labels[i * 3 + j] = words.some((w) => w >= 4 + 15 * j && w < 19 + 15 * j) ? 1 : 0;
    }
    const ids = [2, ...words, 3];
    encodings.push({ ids, typeIds: ids.map(() => 0) });
  }
  return { encodings, labels };
}

interface Step {
  ctx: TextStepContext;
  dispose(): void;
}

/** A training-step context over the first `b` examples, as the trainer builds it. */
function stepContext(model: TransformerClassifier, set: EncodedTextSet, b: number, seed = 7, globalStep = 0): Step {
  const multi = model.outputKind === 'multi-label';
  const indices = Array.from({ length: b }, (_, i) => i);
  const batch = padBatch(set.encodings, indices, PAD, 8);
  const L = model.numLabels;
  const targets = multi
    ? tf.tensor2d(set.labels.slice(0, b * L) as Float32Array, [b, L])
    : tf.tensor1d(Int32Array.from(indices, (i) => set.labels[i]), 'int32');
  const ctx: TextStepContext = {
    model,
    batch,
    targets,
    params: model.parameters(),
    lossOf: (logits) => textLoss(logits, targets, multi),
    seed,
    rng: createRng(seed + 1),
    epoch: 1,
    step: globalStep,
    globalStep,
    totalSteps: 100,
    learningRate: 1e-3,
  };
  return { ctx, dispose: () => (disposeBatch(batch), targets.dispose()) };
}

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

/** A mask `[B, T, 1]` for lengths. */
function maskOf(lengths: number[], T: number): tf.Tensor3D {
  const data = new Float32Array(lengths.length * T);
  lengths.forEach((l, b) => data.fill(1, b * T, b * T + l));
  return tf.tensor3d(data, [lengths.length, T, 1]);
}

describe('perturbation geometry', () => {
  const lengths = [5, 8, 2];
  const shape: [number, number, number] = [3, 8, 4];

  it('FGM has L2 norm eps per example, points along the masked gradient, and is 0 on padding and for a zero gradient', async () => {
    const before = tf.memory().numTensors;
    const mask = maskOf(lengths, 8);
    const g = tf.randomNormal(shape, 0, 3, 'float32', 1) as tf.Tensor3D;
    const r = fgmPerturbation(g, mask, 0.7);
    const norms = perExampleNorm(r, 'l2');
    expect((await values(norms)).every((n) => Math.abs(n - 0.7) < 1e-5)).toBe(true);
    const rv = await values(r);
    const gv = await values(g);
    for (let b = 0; b < 3; b++) {
      for (let t = 0; t < 8; t++) {
        for (let e = 0; e < 4; e++) {
          const k = (b * 8 + t) * 4 + e;
          if (t >= lengths[b]) expect(Math.abs(rv[k])).toBe(0);
          else expect(Math.sign(rv[k])).toBe(Math.sign(gv[k]));
        }
      }
    }
    // Ratios r / g are equal within an example (same direction).
    const ratio = (k: number) => rv[k] / gv[k];
    expect(ratio(1)).toBeCloseTo(ratio(7), 5);
    const zeros = tf.zeros(shape) as tf.Tensor3D;
    const zero = fgmPerturbation(zeros, mask, 0.7);
    expect((await values(zero)).every((v) => v === 0)).toBe(true);
    tf.dispose([mask, g, r, zero, zeros, norms]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('PGD steps stay inside the L2 / Linf ball, reach its boundary, and take exact steps inside it', async () => {
    const before = tf.memory().numTensors;
    const mask = maskOf(lengths, 8);
    const out = tf.tidy(() => {
      const results: tf.Tensor[] = [];
      for (const norm of ['l2', 'linf'] as const) {
        let d = tf.zeros(shape) as tf.Tensor3D;
        for (let k = 0; k < 5; k++) {
          d = pgdStep(d, tf.randomNormal(shape, 0, 1, 'float32', 10 + k) as tf.Tensor3D, mask, { eps: 0.5, alpha: 0.3, norm });
        }
        results.push(perExampleNorm(d, norm), tf.sum(tf.abs(tf.mul(d, tf.sub(1, mask)))));
        // One small step from 0 is inside the ball: its norm is alpha (L2) / alpha (Linf).
        const g = tf.randomNormal(shape, 0, 1, 'float32', 3) as tf.Tensor3D;
        const small = pgdStep(tf.zeros(shape) as tf.Tensor3D, g, mask, { eps: 0.5, alpha: 0.1, norm });
        results.push(perExampleNorm(small, norm));
      }
      return results;
    });
    for (const i of [0, 3]) {
      const norms = await values(out[i]);
      expect(norms.every((n) => n <= 0.5 + 1e-6)).toBe(true);
      expect(norms.some((n) => Math.abs(n - 0.5) < 1e-5)).toBe(true);
      expect((await values(out[i + 1]))[0]).toBe(0);
      expect((await values(out[i + 2])).every((n) => Math.abs(n - 0.1) < 1e-6)).toBe(true);
    }
    tf.dispose([...out, mask]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('projection rescales (L2) or clips (Linf) only what lies outside; random starts lie in the ball', async () => {
    const mask = maskOf(lengths, 8);
    const out = tf.tidy(() => {
      const big = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 4), 10) as tf.Tensor3D;
      const tiny = tf.mul(big, 1e-4) as tf.Tensor3D;
      return [
        perExampleNorm(projectPerturbation(big, mask, 1, 'l2'), 'l2'),
        tf.max(tf.abs(tf.sub(projectPerturbation(tiny, mask, 1, 'l2'), tf.mul(tiny, mask)))),
        perExampleNorm(projectPerturbation(big, mask, 0.2, 'linf'), 'linf'),
        perExampleNorm(randomInBall(shape, mask, 0.3, 'l2', 5), 'l2'),
        perExampleNorm(randomInBall(shape, mask, 0.3, 'linf', 5), 'linf'),
      ];
    });
    expect((await values(out[0])).every((n) => Math.abs(n - 1) < 1e-5)).toBe(true);
    expect((await values(out[1]))[0]).toBe(0);
    expect((await values(out[2])).every((n) => Math.abs(n - 0.2) < 1e-6)).toBe(true);
    for (const i of [3, 4]) {
      const n = await values(out[i]);
      expect(n.every((v) => v > 0 && v <= 0.3 + 1e-6)).toBe(true);
    }
    tf.dispose([...out, mask]);
  });

  it('FreeLB starts at mag / sqrt(L E) scale and ascends by advLr along g / ||g||, bounded by advMaxNorm', async () => {
    const mask = maskOf(lengths, 8);
    const out = tf.tidy(() => {
      const d0 = freelbInit(shape, mask, 0.6, 'l2', 3);
      const g = tf.randomNormal(shape, 0, 2, 'float32', 8) as tf.Tensor3D;
      const d1 = freelbStep(tf.zeros(shape) as tf.Tensor3D, g, mask, { advLr: 0.25, advMaxNorm: 0, norm: 'l2' });
      const expected = tf.mul(tf.div(tf.mul(g, mask), perExampleNorm(tf.mul(g, mask) as tf.Tensor3D, 'l2')), 0.25);
      const bounded = freelbStep(d0, g, mask, { advLr: 5, advMaxNorm: 0.4, norm: 'l2' });
      return [tf.max(tf.abs(d0)), tf.sum(tf.abs(tf.mul(d0, tf.sub(1, mask)))), tf.max(tf.abs(tf.sub(d1, expected))), perExampleNorm(bounded, 'l2')];
    });
    // |U(-1,1) * 0.6 / sqrt(L * 4)| <= 0.6 / sqrt(2 * 4) for the shortest example.
    expect((await values(out[0]))[0]).toBeLessThanOrEqual(0.6 / Math.sqrt(8) + 1e-6);
    expect((await values(out[1]))[0]).toBe(0);
    expect((await values(out[2]))[0]).toBeLessThan(1e-6);
    expect((await values(out[3])).every((n) => Math.abs(n - 0.4) < 1e-5)).toBe(true);
    tf.dispose([...out, mask]);
  });
});

describe('symmetric KL', () => {
  const a = [[1, -0.5, 2], [0.3, 0.1, -1]];
  const b = [[0.2, 0.4, 1.1], [-2, 0.5, 0.7]];
  const softmax = (r: number[]) => {
    const m = Math.max(...r);
    const e = r.map((x) => Math.exp(x - m));
    const s = e.reduce((x, y) => x + y, 0);
    return e.map((x) => x / s);
  };
  const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]), 0);
  const sig = (x: number) => 1 / (1 + Math.exp(-x));

  it('equals KL(P||Q) + KL(Q||P) (softmax and per-label Bernoulli), is symmetric, and is 0 for equal inputs', async () => {
    let soft = 0;
    let bern = 0;
    for (let i = 0; i < 2; i++) {
      const p = softmax(a[i]);
      const q = softmax(b[i]);
      soft += (kl(p, q) + kl(q, p)) / 2;
      for (let j = 0; j < 3; j++) {
        const pj = [sig(a[i][j]), 1 - sig(a[i][j])];
        const qj = [sig(b[i][j]), 1 - sig(b[i][j])];
        bern += (kl(pj, qj) + kl(qj, pj)) / 2;
      }
    }
    const ta = tf.tensor2d(a);
    const tb = tf.tensor2d(b);
    for (const multi of [false, true]) {
      const ab = symmetricKl(ta, tb, multi);
      const ba = symmetricKl(tb, ta, multi);
      const aa = symmetricKl(ta, ta, multi);
      expect((await ab.data())[0]).toBeCloseTo(multi ? bern : soft, 5);
      expect((await ba.data())[0]).toBe((await ab.data())[0]);
      expect((await aa.data())[0]).toBe(0);
      tf.dispose([ab, ba, aa]);
    }
    tf.dispose([ta, tb]);
  });
});

describe('hooks on one step', () => {
  it('before startEpoch every method is plain training (clean start for adversarial training from scratch)', async () => {
    const model = tinyModel(1, { outputKind: 'multi-label', numLabels: 3 });
    const data = toyData(6, 1, true);
    const { ctx, dispose } = stepContext(model, data, 6); // epoch 1
    const clean = tf.tidy(() => cleanGradients(ctx) as unknown as tf.TensorContainer) as unknown as StepGradients;
    for (const d of [fgm({ startEpoch: 2 }), pgdEmbed({ startEpoch: 2 }), smart({ startEpoch: 2 }), rdrop({ startEpoch: 2 })]) {
      const extra = d.extraGradients!(ctx, clean);
      expect(Object.keys(extra.grads), d.name).toEqual([]);
      expect((await extra.loss.data())[0], d.name).toBe(0);
      extra.loss.dispose();
    }
    const replaced = tf.tidy(() => freelb({ startEpoch: 2 }).gradients!(ctx) as unknown as tf.TensorContainer) as unknown as StepGradients;
    for (const k of Object.keys(clean.grads)) expect(await maxAbsDiff(replaced.grads[k], clean.grads[k])).toBe(0);
    const active = tf.tidy(() => fgm({ startEpoch: 1 }).extraGradients!(ctx, clean) as unknown as tf.TensorContainer) as unknown as StepGradients;
    expect(Object.keys(active.grads).length).toBe(ctx.params.length);
    tf.dispose([clean.loss, replaced.loss, active.loss, ...Object.values(clean.grads), ...Object.values(replaced.grads), ...Object.values(active.grads)]);
    dispose();
    model.dispose();
  });

  it('FreeLB with K=1 and zero init gives exactly the clean step', async () => {
    const model = tinyModel(1, { outputKind: 'multi-label', numLabels: 3 });
    const data = toyData(6, 1, true);
    const { ctx, dispose } = stepContext(model, data, 6);
    const before = tf.memory().numTensors;
    const both = () => [cleanGradients(ctx), freelb({ advK: 1, advInitMag: 0 }).gradients!(ctx)] as unknown as tf.TensorContainer;
    const [clean, adv] = tf.tidy(both) as unknown as [StepGradients, StepGradients];
    expect(Object.keys(adv.grads).sort()).toEqual(Object.keys(clean.grads).sort());
    expect(Object.keys(clean.grads).length).toBe(ctx.params.length);
    expect(await maxAbsDiff(adv.loss, clean.loss)).toBeLessThan(1e-7);
    for (const k of Object.keys(clean.grads)) expect(await maxAbsDiff(adv.grads[k], clean.grads[k])).toBeLessThan(1e-7);
    tf.dispose([clean.loss, adv.loss, ...Object.values(clean.grads), ...Object.values(adv.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    dispose();
    model.dispose();
  });

  it('FreeLB with K=2 averages the clean gradients and those at x + advLr g/||g||', async () => {
    const model = tinyModel(2);
    const data = toyData(6, 2, false);
    const { ctx, dispose } = stepContext(model, data, 6);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const vars = ctx.params.map((p) => p.variable);
      const fwd = { training: true, seed: ctx.seed };
      const mask = tf.expandDims(tf.cast(ctx.batch.attentionMask, 'float32'), 2);
      // Independent reference: gradient w.r.t. the embeddings, the normalised step, the gradients at both points.
      const embeds = model.embed(ctx.batch.inputIds);
      const gE = tf.grad((e: tf.Tensor) => ctx.lossOf(model.forwardFromEmbeddings(e as tf.Tensor3D, ctx.batch, fwd)))(embeds);
      const gm = tf.mul(gE, mask);
      const delta1 = tf.mul(tf.div(gm, tf.sqrt(tf.sum(tf.square(gm), [1, 2], true))), 0.3);
      const g0 = tf.variableGrads(() => ctx.lossOf(model.logits(ctx.batch, fwd)), vars);
      const at1 = () => model.forwardFromEmbeddings(tf.add(model.embed(ctx.batch.inputIds), delta1) as tf.Tensor3D, ctx.batch, fwd);
      const g1 = tf.variableGrads(() => ctx.lossOf(at1()), vars);
      const got = freelb({ advK: 2, advInitMag: 0, advLr: 0.3 }).gradients!(ctx);
      const diffs = ctx.params.map((p) => {
        const ref = tf.div(tf.add(g0.grads[p.variable.name], g1.grads[p.variable.name]), 2);
        return tf.div(tf.max(tf.abs(tf.sub(got.grads[p.name], ref))), tf.add(tf.max(tf.abs(ref)), 1e-12));
      });
      return [tf.max(tf.stack(diffs)), tf.abs(tf.sub(got.loss, tf.div(tf.add(g0.value, g1.value), 2))), tf.abs(tf.sub(g1.value, g0.value))];
    });
    const [relGrad, lossDiff, moved] = await Promise.all(out.map(async (t) => (await t.data())[0]));
    expect(relGrad).toBeLessThan(1e-4);
    expect(lossDiff).toBeLessThan(1e-6);
    expect(moved).toBeGreaterThan(1e-4); // the second point is really elsewhere
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
    dispose();
    model.dispose();
  });

  it('FGM and PGD use the clean step\'s embedding gradient and raise the loss', async () => {
    const model = tinyModel(3, { hiddenDropout: 0, attentionDropout: 0, classifierDropout: 0 });
    const data = toyData(8, 3, false);
    const { ctx, dispose } = stepContext(model, data, 8);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const clean = cleanGradients(ctx, { embedsGrad: true });
      const plain = cleanGradients(ctx);
      const f = fgm({ eps: 1 }).extraGradients!(ctx, clean);
      const fNoGrad = fgm({ eps: 1 }).extraGradients!(ctx, plain);
      const p = pgdEmbed({ eps: 1, alpha: 0.5, steps: 3 }).extraGradients!(ctx, clean);
      const pLinf = pgdEmbed({ eps: 0.05, alpha: 0.02, steps: 3, norm: 'linf', init: 'random' }).extraGradients!(ctx, clean);
      const wname = ctx.params[0].name;
      return [clean.loss, plain.loss, f.loss, fNoGrad.loss, p.loss, pLinf.loss, tf.max(tf.abs(tf.sub(clean.grads[wname], plain.grads[wname])))];
    });
    const [c, pl, f, f2, p, pi, gd] = await Promise.all(out.map(async (t) => (await t.data())[0]));
    expect(c).toBe(pl);
    expect(gd).toBe(0);
    expect(f).toBeGreaterThan(c);
    expect(Math.abs(f - f2)).toBeLessThan(1e-6);
    expect(p).toBeGreaterThan(c);
    expect(pi).toBeGreaterThan(c);
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
    dispose();
    model.dispose();
  });

  it('SMART: the smoothness term is 0 at delta = 0 and positive after ascent; the proximal term is 0 at init', async () => {
    const model = tinyModel(4, { outputKind: 'multi-label', numLabels: 3 });
    const data = toyData(6, 4, true);
    const run = async (d: TextDefense, globalStep: number) => {
      const { ctx, dispose } = stepContext(model, data, 6, 7, globalStep);
      const loss = tf.tidy(() => {
        const r = d.extraGradients!(ctx, { loss: tf.scalar(0), grads: {} });
        return r.loss;
      });
      const v = (await loss.data())[0];
      loss.dispose();
      dispose();
      return v;
    };
    const before = tf.memory().numTensors;
    expect(await run(smart({ eps: 0, noiseStd: 0, mu: 0 }), 0)).toBe(0);
    expect(await run(smart({ eps: 0.5, stepSize: 0.5, noiseStd: 0.1, mu: 0 }), 0)).toBeGreaterThan(1e-6);
    const prox = smart({ lambdaS: 0, mu: 1, betaSwitch: 1 });
    expect(await run(prox, 0)).toBe(0);
    const afterInit = tf.memory().numTensors;
    expect(afterInit - before).toBe(model.parameters().length); // the EMA copy
    // Move the parameters; the next step's EMA (0.99 old + 0.01 new) differs from them, so the term is > 0.
    const w = model.parameters().find((p) => p.name === 'classifier.weight')!.variable;
    const saved = tf.clone(w);
    tf.tidy(() => w.assign(tf.add(w, tf.randomNormal(w.shape, 0, 1, 'float32', 3))));
    expect(await run(prox, 1)).toBeGreaterThan(1e-6);
    w.assign(saved);
    saved.dispose();
    prox.dispose!();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('R-Drop adds nothing when dropout is off and a positive KL when it is on', async () => {
    const run = async (dropout: number) => {
      const model = tinyModel(5, { hiddenDropout: dropout, attentionDropout: dropout, classifierDropout: dropout });
      const data = toyData(6, 5, false);
      const { ctx, dispose } = stepContext(model, data, 6);
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const r = rdrop({ alpha: 1 }).extraGradients!(ctx, { loss: tf.scalar(0), grads: {} });
        return [r.loss, tf.max(tf.stack(Object.values(r.grads).map((g) => tf.max(tf.abs(g)))))];
      });
      const [loss, grad] = await Promise.all(out.map(async (t) => (await t.data())[0]));
      tf.dispose(out);
      expect(tf.memory().numTensors).toBe(before);
      dispose();
      model.dispose();
      return { loss, grad };
    };
    const off = await run(0);
    expect(off.loss).toBe(0);
    expect(off.grad).toBe(0);
    const on = await run(0.3);
    expect(on.grad).toBeGreaterThan(0);
    expect(on.loss).not.toBe(0);
  });

  it('rejects bad options with one line naming the option', () => {
    expect(() => fgm({ eps: -1 })).toThrow(UsageError);
    expect(() => fgm({ eps: -1 })).toThrow(/eps/);
    expect(() => pgdEmbed({ norm: 'l1' as 'l2' })).toThrow(/norm/);
    expect(() => freelb({ advK: 0 })).toThrow(/advK/);
    expect(() => smart({ beta: 2 })).toThrow(/beta/);
    expect(() => rdrop({ alhpa: 1 } as never)).toThrow(/alhpa/);
  });
});

describe('training with embedding-space defenses', () => {
  const methods: Array<[string, () => TextDefense[]]> = [
    ['FGM', () => [fgm()]],
    ['PGD (random start, linf)', () => [pgdEmbed({ steps: 2, init: 'random', norm: 'linf', eps: 0.05, alpha: 0.02 })]],
    ['FreeLB', () => [freelb({ advK: 2 })]],
    ['SMART', () => [smart({ eps: 1e-2, stepSize: 1e-2 })]],
    ['R-Drop', () => [rdrop()]],
    ['FreeLB + R-Drop', () => [freelb({ advK: 2 }), rdrop({ alpha: 0.5 })]],
    ['FGM + SMART', () => [fgm({ eps: 0.5 }), smart()]],
  ];

  for (const [label, make] of methods) {
    it(`${label}: a few steps on a multi-label head, finite loss, weights move, no leaked tensors`, async () => {
      const model = tinyModel(11, { outputKind: 'multi-label', numLabels: 3 });
      const data = toyData(12, 11, true);
      const w0 = model.parameters().map((p) => tf.clone(p.variable));
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      const res = await trainText(model, data, {
        epochs: 2,
        batchSize: 4,
        learningRate: 1e-3,
        seed: 3,
        padId: PAD,
        warmupRatio: 0,
        defenses: make(),
        onBatch: (b) => losses.push(b.loss),
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(losses.length).toBe(6);
      expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      expect(res.hyperparameters.defenses).toHaveLength(make().length);
      let moved = 0;
      for (const [i, p] of model.parameters().entries()) moved = Math.max(moved, await maxAbsDiff(p.variable, w0[i]));
      expect(moved).toBeGreaterThan(1e-4);
      tf.dispose(w0);
      model.dispose();
    });
  }

  it('multi-label label smoothing changes the training loss of the same first step', async () => {
    const first = async (labelSmoothing: number) => {
      const model = tinyModel(12, { outputKind: 'multi-label', numLabels: 3 });
      let loss = NaN;
      await trainText(model, toyData(8, 12, true), {
        epochs: 1, batchSize: 8, learningRate: 1e-3, seed: 1, padId: PAD, labelSmoothing, defenses: [fgm()],
        onBatch: (b) => (loss = Number.isNaN(loss) ? b.loss : loss),
      });
      model.dispose();
      return loss;
    };
    const plain = await first(0);
    const smoothed = await first(0.2);
    expect(Number.isFinite(plain) && Number.isFinite(smoothed)).toBe(true);
    expect(Math.abs(plain - smoothed)).toBeGreaterThan(1e-4);
  });
});

describe('embeddingPgdAccuracy', () => {
  it('equals the clean metrics at eps 0, drops under attack, reports micro-F1 for multi-label, and leaks nothing', async () => {
    for (const multi of [false, true]) {
      const model = tinyModel(21, multi ? { outputKind: 'multi-label', numLabels: 3 } : {});
      const data = toyData(48, 21, multi);
      await trainText(model, data, { epochs: 6, batchSize: 8, learningRate: 5e-3, seed: 2, padId: PAD, warmupRatio: 0 });
      const before = tf.memory().numTensors;
      const clean = textMetrics(await predictText(model, data.encodings, PAD), data, model.numLabels, multi);
      const at0 = await embeddingPgdAccuracy(model, data, PAD, { eps: 0, batchSize: 16 });
      const strong = await embeddingPgdAccuracy(model, data, PAD, { eps: 5, steps: 10, batchSize: 16, seed: 1 });
      const linf = await embeddingPgdAccuracy(model, data, PAD, { eps: 0.5, steps: 5, norm: 'linf', batchSize: 16, seed: 1 });
      expect(tf.memory().numTensors).toBe(before);
      expect(at0.accuracy).toBeCloseTo(clean.accuracy, 10);
      expect(clean.accuracy).toBeGreaterThan(multi ? 0.3 : 0.7);
      expect(strong.accuracy).toBeLessThan(clean.accuracy);
      expect(linf.accuracy).toBeLessThanOrEqual(clean.accuracy);
      if (multi) {
        expect(at0.microF1).toBeCloseTo(clean.microF1!, 10);
        expect(strong.microF1!).toBeLessThan(clean.microF1!);
      } else {
        expect(at0.microF1).toBeUndefined();
      }
      model.dispose();
    }
  });
});
