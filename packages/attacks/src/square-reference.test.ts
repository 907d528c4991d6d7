/**
 * Square's `reference` variant pinned against AutoAttack's implementation (fra31/auto-attack `autoattack/square.py`,
 * as `autoattack.py` constructs it: p_init 0.8, 5,000 queries, `resc_schedule=False`): the p schedule, the query
 * count, one window per batch drawn from [0, h - s), no redraw of a no-op window. The `strong` variant keeps Parry's
 * per-example windows over every position and the rescaled schedule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { disposeAttackResult, fromFunction, initBackend, runAttack, UsageError, untargeted } from '@parry/core';
import { describe, expect, it } from 'vitest';
import { autoAttackPlan } from './autoattack.js';
import { square, squareFraction } from './square.js';

await initBackend({ backend: 'cpu' });

describe('Square, reference variant (AutoAttack)', () => {
  it("p schedule: AutoAttack's p_selection without rescaling (5,000 queries end at p_init/128)", () => {
    // it -> p for p_init 0.8, from the reference's if-chain (10 < it <= 50: /2, 50 < it <= 200: /4, ...)
    const expected: Array<[number, number]> = [
      [0, 0.8], [10, 0.8], [11, 0.4], [50, 0.4], [51, 0.2], [200, 0.2], [201, 0.1], [500, 0.1], [501, 0.05],
      [1000, 0.05], [1001, 0.025], [2000, 0.025], [2001, 0.0125], [4000, 0.0125], [4001, 0.00625], [4999, 0.00625],
      [6001, 0.8 / 256], [8001, 0.8 / 512],
    ];
    for (const [it, p] of expected) expect(squareFraction(0.8, it, 5000, false)).toBeCloseTo(p, 12);
    // strong: the same chain on the iteration rescaled to 10,000 queries
    expect(squareFraction(0.8, 4999, 5000, true)).toBe(0.8 / 512);
    expect(squareFraction(0.8, 2500, 5000, true)).toBe(0.8 / 128);
  });

  /**
   * A model whose scores ignore the input (margin 5 for label 0 everywhere): no candidate is ever kept, so every
   * candidate is the stripes start plus one window; the spy records every batch the attack sends.
   */
  async function spyRun(variant: 'reference' | 'strong', queries: number) {
    const h = 8;
    const calls: Float32Array[] = [];
    const model = fromFunction(
      (x) => {
        calls.push(x.dataSync() as Float32Array);
        return tf.tile(tf.tensor2d([[5, 0, 0]]), [x.shape[0], 1]);
      },
      { name: 'constant', inputShape: [h, h, 1], numClasses: 3, gradients: false },
    );
    const n = 4;
    const x = tf.fill([n, h, h, 1], 0.5);
    const labels = tf.tensor1d([0, 0, 0, 0], 'int32');
    const r = await runAttack(square({ queries, variant }), model, x, untargeted(labels), { epsilons: [0.1], seed: 3 });
    const forward = r.counters.forwardEvaluations;
    disposeAttackResult(r);
    tf.dispose([x, labels]);
    // the first call of the search is the stripes start (the run scores the clean batch before it); the last call is
    // the run's own check of the returned adversarials, not a query of the attack
    const startCall = calls.findIndex((c) => c.some((v) => v !== 0.5));
    return { h, n, calls: calls.slice(startCall, -1), forward };
  }

  /** Per call after the start: the bounding box (over all examples) of the pixels that differ from the start. */
  function windows(h: number, n: number, calls: Float32Array[]) {
    const start = calls[0];
    return calls.slice(1).map((c) => {
      let r0 = h, r1 = -1, c0 = h, c1 = -1;
      for (let e = 0; e < n; e++) {
        for (let p = 0; p < h * h; p++) {
          if (c[e * h * h + p] !== start[e * h * h + p]) {
            const row = Math.floor(p / h), col = p % h;
            r0 = Math.min(r0, row), r1 = Math.max(r1, row), c0 = Math.min(c0, col), c1 = Math.max(c1, col);
          }
        }
      }
      return { r0, r1, c0, c1 };
    });
  }

  it('one window per batch, never at the last position; queries + 1 forward passes per example', async () => {
    const queries = 300;
    const { h, n, calls, forward } = await spyRun('reference', queries);
    expect(calls.length).toBe(queries + 1); // the start + one call per iteration
    expect(forward).toBe(n + n * (queries + 1)); // the run's clean pass + the attack's queries
    const boxes = windows(h, n, calls).filter((b) => b.r1 >= 0);
    expect(boxes.length).toBeGreaterThan(queries / 2);
    boxes.forEach((b, k) => {
      // the side at this iteration: round(sqrt(p h w)), at least 1, at most h
      const side = Math.min(Math.max(Math.round(Math.sqrt(squareFraction(0.8, k, queries, false) * h * h)), 1), h);
      expect(b.r1 - b.r0 + 1).toBeLessThanOrEqual(side);
      expect(b.c1 - b.c0 + 1).toBeLessThanOrEqual(side);
    });
    // the reference draws the start from [0, h - s): the last row and column are never inside a window
    expect(Math.max(...boxes.map((b) => b.r1))).toBeLessThanOrEqual(h - 2);
    expect(Math.max(...boxes.map((b) => b.c1))).toBeLessThanOrEqual(h - 2);
  });

  it('strong: windows per example over every position, `queries` forward passes per example', async () => {
    const queries = 300;
    const { h, n, calls, forward } = await spyRun('strong', queries);
    expect(calls.length).toBe(queries);
    expect(forward).toBe(n + n * queries);
    const boxes = windows(h, n, calls).filter((b) => b.r1 >= 0);
    expect(Math.max(...boxes.map((b) => b.r1))).toBe(h - 1);
    // windows differ between the examples of one call: some union is wider than one window
    const wider = boxes.some((b, k) => b.r1 - b.r0 + 1 > Math.min(Math.max(Math.round(Math.sqrt(squareFraction(0.8, k + 1, queries, true) * h * h)), 1), h));
    expect(wider).toBe(true);
  });

  it('AutoAttack standard and plus run the reference Square; strong only in version custom', () => {
    const sq = (o: Parameters<typeof autoAttackPlan>[0]) => autoAttackPlan(o).find((p) => p.label === 'square')!.attack;
    expect(sq({}).options).toMatchObject({ variant: 'reference', queries: 5000, pInit: 0.8, restarts: 1 });
    expect(sq({ version: 'plus' }).options).toMatchObject({ variant: 'reference', restarts: 5 });
    expect(sq({ version: 'custom', attacks: ['square'], squareVariant: 'strong' }).options).toMatchObject({ variant: 'strong' });
    expect(() => autoAttackPlan({ squareVariant: 'strong' })).toThrow(UsageError);
  });
});
