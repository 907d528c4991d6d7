/**
 * Gradient accumulation (issue 17): micro-batch gradients weighted by their share equal the full-batch gradients, a
 * run with `gradAccum` trains without leaking tensors, and the memory estimate refuses a run that cannot fit before
 * anything is allocated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Encoding, initBackend, type TextStepContext, UsageError } from '@parry/core';
import { createTransformerClassifier, disposeBatch, padBatch, smallConfig, type TransformerClassifier } from '@parry/text';
import { beforeAll, describe, expect, it } from 'vitest';
import { accumulateGradients, type EncodedTextSet, microBatches, stepGradients, textLoss, trainText } from './trainer.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** Sentences of 3-12 filler ids (different lengths, so micro-batches pad differently); label 1 when id 10 occurs. */
function toySet(n: number, seed: number, multi = false): EncodedTextSet {
  const rng = createRng(seed);
  const encodings: Encoding[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + rng.int(10);
    const ids = Array.from({ length: len }, () => 20 + rng.int(30));
    if (rng.float() < 0.5) ids[rng.int(len)] = 10;
    if (multi && rng.float() < 0.5) ids[rng.int(len)] = 11;
    encodings.push({ ids: [2, ...ids, 3], typeIds: new Array(len + 2).fill(0) });
    if (multi) labels.push(ids.includes(10) ? 1 : 0, ids.includes(11) ? 1 : 0);
    else labels.push(ids.includes(10) ? 1 : 0);
  }
  return { encodings, labels: multi ? Float32Array.from(labels) : Int32Array.from(labels) };
}

function model(multi = false, dropout = 0): TransformerClassifier {
  const config = smallConfig('bert', {
    vocabSize: 50,
    hiddenSize: 32,
    numHeads: 2,
    numLayers: 2,
    intermediateSize: 64,
    hiddenDropout: dropout,
    attentionDropout: dropout,
    labelNames: multi ? ['a', 'b'] : ['neg', 'pos'],
    outputKind: multi ? 'multi-label' : 'single-label',
  });
  return createTransformerClassifier(config, { seed: 3 });
}

/** A step context for `part` of `set` (what the trainer builds), with its disposer. */
function stepOf(m: TransformerClassifier, set: EncodedTextSet, multi: boolean) {
  return (part: readonly number[]) => {
    const batch = padBatch(set.encodings, part, 0, 8);
    const targets = multi
      ? tf.tensor2d(Float32Array.from(part.flatMap((i) => [set.labels[2 * i], set.labels[2 * i + 1]])), [part.length, 2])
      : tf.tensor1d(Int32Array.from(part, (i) => set.labels[i]), 'int32');
    const rng = createRng(1);
    const ctx: TextStepContext = {
      model: m,
      batch,
      targets,
      params: m.parameters(),
      lossOf: (logits) => textLoss(logits, targets, multi),
      seed: rng.tfSeed(),
      rng,
      epoch: 1,
      step: 0,
      globalStep: 0,
      totalSteps: 1,
      learningRate: 1e-3,
    };
    return { ctx, dispose: () => (disposeBatch(batch), targets.dispose()) };
  };
}

describe('gradient accumulation', () => {
  it('micro-batches cover the batch in order, sizes differing by at most one', () => {
    expect(microBatches([0, 1, 2, 3, 4, 5, 6], 3)).toEqual([[0, 1, 2], [3, 4], [5, 6]]);
    expect(microBatches([0, 1], 2)).toEqual([[0], [1]]);
  });

  for (const multi of [false, true]) {
    it(`${multi ? 'multi' : 'single'}-label: accumulated gradients and loss equal the full batch's within 1e-5`, async () => {
      const m = model(multi);
      const set = toySet(13, 5, multi);
      const all = Array.from({ length: 13 }, (_, i) => i);
      const before = tf.memory().numTensors;
      const full = stepOf(m, set, multi)(all);
      const ref = tf.tidy(() => stepGradients(full.ctx, []));
      full.dispose();
      for (const k of [2, 4, 13]) {
        const acc = await accumulateGradients(microBatches(all, k), stepOf(m, set, multi));
        expect(Object.keys(acc.grads).sort()).toEqual(Object.keys(ref.grads).sort());
        let worst = 0;
        for (const [name, g] of Object.entries(ref.grads)) {
          const a = acc.grads[name].dataSync();
          const b = g.dataSync();
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        expect(worst).toBeLessThan(1e-5);
        expect(Math.abs(acc.loss.dataSync()[0] - ref.loss.dataSync()[0])).toBeLessThan(1e-5);
        // and the check can fail: summing without the weights is off by the number of parts
        const g0 = Object.keys(ref.grads).find((n) => ref.grads[n].size > 1 && Math.max(...Array.from(ref.grads[n].dataSync(), Math.abs)) > 1e-4)!;
        expect(Math.max(...Array.from(acc.grads[g0].dataSync(), (v, i) => Math.abs(v * k - ref.grads[g0].dataSync()[i])))).toBeGreaterThan(1e-5);
        tf.dispose([acc.loss, ...Object.values(acc.grads)]);
      }
      tf.dispose([ref.loss, ...Object.values(ref.grads)]);
      expect(tf.memory().numTensors).toBe(before);
      for (const p of m.parameters()) p.variable.dispose();
    });
  }

  it('trainText with gradAccum trains (loss falls), records it, and leaks no tensors', async () => {
    const m = model(false, 0.1);
    const set = toySet(96, 7);
    const before = tf.memory().numTensors;
    const r = await trainText(m, set, { epochs: 3, batchSize: 16, learningRate: 3e-3, seed: 0, padId: 0, gradAccum: 4 });
    expect(r.hyperparameters.gradAccum).toBe(4);
    expect(r.epochs[2].loss).toBeLessThan(r.epochs[0].loss);
    // the optimizer's moments (two per parameter) are the only tensors the run keeps
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(2 * m.parameters().length + 2);
    await expect(trainText(m, set, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 0, gradAccum: 5 })).rejects.toThrow(/at most 4/);
    await expect(trainText(m, set, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 0, gradAccum: 0 })).rejects.toThrow(UsageError);
  });

  it('trainText with per-layer recomputation takes the same steps (weights within 1e-5, dropout on) and restores the switch', async () => {
    const set = toySet(32, 5);
    const weights = async (recompute: boolean) => {
      const m = model(false, 0.1);
      const during: boolean[] = [];
      await trainText(m, set, { epochs: 1, batchSize: 8, learningRate: 3e-3, seed: 2, padId: 0, gradAccum: 2, recompute, onBatch: () => during.push(m.recompute) });
      expect(during).toEqual([recompute, recompute, recompute, recompute]);
      expect(m.recompute).toBe(false);
      const out = m.parameters().map((p) => Array.from(p.variable.dataSync()));
      m.dispose();
      return out;
    };
    const plain = await weights(false);
    const re = await weights(true);
    let diff = 0;
    plain.forEach((w, i) => w.forEach((v, j) => (diff = Math.max(diff, Math.abs(v - re[i][j])))));
    expect(diff).toBeLessThan(1e-5);
    const fake = { numLabels: 2, outputKind: 'single-label', parameters: () => [] } as unknown as TransformerClassifier;
    await expect(trainText(fake, set, { epochs: 1, batchSize: 8, learningRate: 1e-3, seed: 0, padId: 0, recompute: true })).rejects.toThrow(/no per-layer recomputation switch/);
  });

  it('a run whose estimated memory does not fit is refused before anything is allocated, naming --grad-accum', async () => {
    // bert-base sizes with 512-token sequences, batch 256: far beyond any machine; the model is never touched
    const config = smallConfig('bert', { vocabSize: 30522, hiddenSize: 768, numHeads: 12, numLayers: 12, intermediateSize: 3072, maxPositions: 512 });
    const fake = {
      config,
      numLabels: 2,
      outputKind: 'single-label' as const,
      parameters: () => {
        throw new Error('allocated');
      },
    } as unknown as TransformerClassifier;
    const ids = Array.from({ length: 512 }, (_, i) => 5 + (i % 100));
    const set: EncodedTextSet = { encodings: Array.from({ length: 256 }, () => ({ ids, typeIds: new Array(512).fill(0) })), labels: new Int32Array(256) };
    await expect(trainText(fake, set, { epochs: 1, batchSize: 256, learningRate: 1e-3, seed: 0, padId: 0 })).rejects.toThrow(/--grad-accum \d+/);
  });
});
