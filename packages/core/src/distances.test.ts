import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { ascentDirection, distance, norm, project, projectDelta, randomInBall } from './distances.js';

beforeAll(async () => {
  await initBackend();
});

const rows = (t: tf.Tensor) => {
  const v = Array.from(t.dataSync());
  const d = v.length / t.shape[0];
  return Array.from({ length: t.shape[0] }, (_, i) => v.slice(i * d, (i + 1) * d));
};
const jsNorm = (kind: string, r: number[]) =>
  kind === 'linf' ? Math.max(...r.map(Math.abs)) : kind === 'l2' ? Math.hypot(...r) : kind === 'l1' ? r.reduce((s, v) => s + Math.abs(v), 0) : r.filter((v) => v !== 0).length;

describe('norms', () => {
  it('match plain JS on a batch, for every norm', () => {
    const x = tf.tensor([[[1, -2], [0, 3]], [[0, 0], [0.5, 0]]]);
    for (const kind of ['linf', 'l2', 'l1', 'l0'] as const) {
      const got = norm(kind, x);
      expect(Array.from(got.dataSync())).toEqual(rows(x).map((r) => Math.fround(jsNorm(kind, r))));
      got.dispose();
    }
    const y = tf.zerosLike(x);
    const d = distance('l1', y, x);
    expect(Array.from(d.dataSync())).toEqual([6, 0.5]);
    tf.dispose([x, y, d]);
  });
});

describe('projection onto the epsilon-ball', () => {
  const before = () => tf.memory().numTensors;
  it('linf clips every coordinate and l2 rescales only outside the ball', () => {
    const n0 = before();
    const delta = tf.tensor2d([[0.5, -0.05, 0.2], [0.01, 0.02, -0.01]]);
    const pl = projectDelta('linf', delta, 0.1);
    expect(rows(pl)[0]).toEqual([0.1, -0.05, 0.1].map(Math.fround));
    const p2 = projectDelta('l2', delta, 0.1);
    const r = rows(p2);
    expect(Math.hypot(...r[0])).toBeCloseTo(0.1, 5);
    // inside the ball: unchanged
    expect(r[1].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.01, 0.02, -0.01]);
    tf.dispose([delta, pl, p2]);
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('l1 is the exact Euclidean projection: a soft threshold with norm eps', () => {
    const v = [0.9, -0.3, 0.05, 0.4, -0.7, 0.0, 0.2];
    const delta = tf.tensor2d([v, v.map((a) => a / 100)]);
    const p = projectDelta('l1', delta, 1);
    const [w, inside] = rows(p);
    expect(w.reduce((s, a) => s + Math.abs(a), 0)).toBeCloseTo(1, 5);
    // soft threshold: every kept entry shrank by the same theta, every dropped one had |v| <= theta
    const thetas = w.map((a, i) => (a !== 0 ? Math.abs(v[i]) - Math.abs(a) : NaN)).filter((t) => !Number.isNaN(t));
    const theta = thetas[0];
    for (const t of thetas) expect(t).toBeCloseTo(theta, 5);
    w.forEach((a, i) => {
      if (a === 0) expect(Math.abs(v[i])).toBeLessThanOrEqual(theta + 1e-6);
      else expect(Math.sign(a)).toBe(Math.sign(v[i]));
    });
    expect(inside.map((a) => Math.round(a * 1e7) / 1e7)).toEqual(v.map((a) => Math.round((a / 100) * 1e7) / 1e7));
    tf.dispose([delta, p]);
  });

  it('l0 keeps the floor(eps) largest entries', () => {
    const delta = tf.tensor2d([[0.1, -0.9, 0.3, 0.5]]);
    const p = projectDelta('l0', delta, 2.7);
    expect(rows(p)[0]).toEqual([0, -0.9, 0, 0.5].map(Math.fround));
    tf.dispose([delta, p]);
  });

  it('project() stays inside both the ball and the bounds', () => {
    const x0 = tf.tensor2d([[0.95, 0.05, 0.5]]);
    const x = tf.tensor2d([[1.5, -0.5, 0.52]]);
    const p = project('linf', x0, x, 0.1, [0, 1]);
    expect(rows(p)[0].map((a) => Math.round(a * 1e6) / 1e6)).toEqual([1, 0, 0.52]);
    tf.dispose([x0, x, p]);
  });
});

describe('steps and random starts', () => {
  it('ascent direction has unit norm (l2) / is the sign (linf)', () => {
    const g = tf.tensor2d([[3, -4], [0, 0]]);
    const d2 = ascentDirection('l2', g);
    expect(rows(d2)[0].map((a) => Math.round(a * 1e6) / 1e6)).toEqual([0.6, -0.8]);
    expect(rows(d2)[1]).toEqual([0, 0]);
    const di = ascentDirection('linf', g);
    expect(rows(di)[0]).toEqual([1, -1]);
    tf.dispose([g, d2, di]);
  });

  it('random starts are inside the ball and repeat with the seed', () => {
    for (const kind of ['linf', 'l2'] as const) {
      const a = randomInBall(kind, [64, 5, 5, 1], 0.3, 9);
      const b = randomInBall(kind, [64, 5, 5, 1], 0.3, 9);
      const c = randomInBall(kind, [64, 5, 5, 1], 0.3, 10);
      const n = norm(kind, a);
      expect(Math.max(...n.dataSync())).toBeLessThanOrEqual(0.3 + 1e-6);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
      tf.dispose([a, b, c, n]);
    }
  });
});
