import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../optimizer.js';
import { bucketedBatches, lengthSortedBatches, padBatch } from '@parry/text';
import { clipByGlobalNorm, positiveWeightsFor, textLoss, warmupLinearRate } from './trainer.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('length-bucketed batches', () => {
  const lengths = Array.from({ length: 1000 }, (_, i) => 3 + ((i * 7919) % 61));

  it('covers every example exactly once, in batches of the given size', () => {
    const batches = bucketedBatches(lengths, 32, createRng(1), 10);
    const seen = batches.flat().sort((a, b) => a - b);
    expect(seen).toEqual(lengths.map((_, i) => i));
    expect(batches.filter((b) => b.length !== 32).length).toBeLessThanOrEqual(Math.ceil(1000 / 320));
  });

  it('pads far less than random batching, and is deterministic per seed', () => {
    const padded = (bs: number[][]) => bs.reduce((s, b) => s + b.length * Math.max(...b.map((i) => lengths[i])), 0);
    const bucketed = bucketedBatches(lengths, 32, createRng(1), 10);
    const order = createRng(1).shuffle(lengths.map((_, i) => i));
    const random = Array.from({ length: Math.ceil(1000 / 32) }, (_, k) => order.slice(k * 32, k * 32 + 32));
    expect(padded(bucketed)).toBeLessThan(0.7 * padded(random));
    expect(bucketedBatches(lengths, 32, createRng(1), 10)).toEqual(bucketed);
    expect(bucketedBatches(lengths, 32, createRng(2), 10)).not.toEqual(bucketed);
  });

  it('sorts evaluation batches by length', () => {
    const batches = lengthSortedBatches([5, 1, 3, 2], 2);
    expect(batches).toEqual([[1, 3], [2, 0]]);
  });
});

describe('padBatch', () => {
  it('pads ids with the pad id, masks padding, keeps type ids, rounds the length up', async () => {
    const enc = [
      { ids: [2, 10, 11, 3], typeIds: [0, 0, 0, 0] },
      { ids: [2, 12, 3, 13, 3], typeIds: [0, 0, 0, 1, 1] },
    ];
    const b = padBatch(enc, [1, 0], 9, 4);
    expect(b.inputIds.shape).toEqual([2, 8]);
    expect(Array.from(await b.inputIds.data())).toEqual([2, 12, 3, 13, 3, 9, 9, 9, 2, 10, 11, 3, 9, 9, 9, 9]);
    expect(Array.from(await b.attentionMask.data())).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(await b.tokenTypeIds!.data())).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    tf.dispose([b.inputIds, b.attentionMask, b.tokenTypeIds!]);
  });
});

describe('schedule, clipping, losses, AdamW', () => {
  it('warms up linearly, then decays linearly to 0', () => {
    const r = (s: number) => warmupLinearRate(1, s, 100, 10);
    expect(r(0)).toBeCloseTo(0.1);
    expect(r(9)).toBeCloseTo(1);
    expect(r(10)).toBeCloseTo(1);
    expect(r(55)).toBeCloseTo(0.5);
    expect(r(100)).toBe(0);
    expect(warmupLinearRate(1, 50, 100, 10, 'constant')).toBe(1);
  });

  it('clips the global norm like clip_grad_norm_ and leaves small gradients alone', async () => {
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) };
      const c = clipByGlobalNorm(g, 1);
      const small = clipByGlobalNorm(g, 10);
      return [c.a, c.b, small.a] as tf.Tensor[];
    });
    expect(Array.from(await out[0].data())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(await out[1].data())[0]).toBeCloseTo(0.8, 5);
    expect(Array.from(await out[2].data())).toEqual([3, 0]);
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('BCE with logits equals the textbook formula; CE with soft targets equals CE with ids when one-hot', async () => {
    const logits = tf.tensor2d([[2, -1], [0.5, 3]]);
    const z = tf.tensor2d([[1, 0], [0, 1]]);
    const bce = (await textLoss(logits, z, true).data())[0];
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const expected = -(Math.log(sig(2)) + Math.log(1 - sig(-1)) + Math.log(1 - sig(0.5)) + Math.log(sig(3))) / 4;
    expect(bce).toBeCloseTo(expected, 5);
    const ce1 = (await textLoss(logits, tf.tensor1d([0, 1], 'int32'), false).data())[0];
    const ce2 = (await textLoss(logits, z, false).data())[0];
    expect(ce1).toBeCloseTo(ce2, 6);
    const lse = (a: number, b: number) => Math.log(Math.exp(a) + Math.exp(b));
    expect(ce1).toBeCloseTo((lse(2, -1) - 2 + lse(0.5, 3) - 3) / 2, 5);
  });

  it('weighted BCE multiplies each label\'s positive term (pos_weight); weights of 1 give plain BCE', async () => {
    const logits = tf.tensor2d([[2, -1], [0.5, 3]]);
    const z = tf.tensor2d([[1, 0], [0, 1]]);
    const sp = (x: number) => Math.log1p(Math.exp(x));
    const weighted = (await textLoss(logits, z, true, [3, 0.5]).data())[0];
    expect(weighted).toBeCloseTo((3 * sp(-2) + sp(-1) + sp(0.5) + 0.5 * sp(-3)) / 4, 5);
    expect((await textLoss(logits, z, true, [1, 1]).data())[0]).toBeCloseTo((await textLoss(logits, z, true).data())[0], 6);
    expect(positiveWeightsFor(Float32Array.from([1, 0, 0, 0, 0, 0, 1, 0]), 2)).toEqual([1, 1]);
    expect(positiveWeightsFor(Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]), 2, 20)).toEqual([3, 1]);
    expect(positiveWeightsFor(Float32Array.from(new Array(100).fill(0).map((_, i) => (i === 0 ? 1 : 0))), 1, 20)).toEqual([20]);
  });

  it('AdamW decays only the selected variables, decoupled from the gradient', async () => {
    const a = tf.variable(tf.tensor1d([1, -2]), true, 'adamw-a');
    const b = tf.variable(tf.tensor1d([1, -2]), true, 'adamw-b');
    const opt = createOptimizer({ kind: 'adamw', weightDecay: 0.1, epsilon: 1e-8 }, [a, b], { decay: [true, false] });
    const zero = tf.zeros([2]);
    opt.apply({ [a.name]: zero, [b.name]: zero }, 0.5);
    expect(Array.from(await a.data())).toEqual([expect.closeTo(0.95, 6), expect.closeTo(-1.9, 6)]);
    expect(Array.from(await b.data())).toEqual([1, -2]);
    // With a gradient: the first Adam step moves by lr * sign(g) (bias-corrected m / sqrt(v) = g / |g|).
    opt.apply({ [a.name]: tf.tensor1d([1, 1]), [b.name]: tf.tensor1d([1, -1]) }, 0.5);
    const bv = await b.data();
    expect(bv[0]).toBeLessThan(1);
    expect(bv[1]).toBeGreaterThan(-2);
    opt.dispose();
    tf.dispose([a, b, zero]);
  });
});
