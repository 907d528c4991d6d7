/** Helpers shared by the kernel tests: deterministic data, run-on-a-backend, and a relative closeness check. */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** Deterministic values in [-1, 1) (an LCG, so tests need no RNG state). */
export function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Switch to `backend`, run `f`, read and dispose its result. */
export async function runOn(backend: string, f: () => tf.Tensor): Promise<{ data: tf.TypedArray; shape: number[]; dtype: string }> {
  await tf.setBackend(backend);
  const t = f();
  const data = (await t.data()) as tf.TypedArray;
  const out = { data, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return out;
}

/** max |actual - expected| <= rtol * max |expected| (elementwise arrays of equal length). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(maxDiff).toBeLessThanOrEqual(rtol * Math.max(scale, 1e-6));
}
