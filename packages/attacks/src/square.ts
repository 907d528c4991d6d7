/**
 * Square Attack (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient black-box
 * adversarial attack via random search", https://arxiv.org/abs/1912.00049), linf. Score-based random search:
 * start from vertical stripes of +-eps, then each query proposes, for every example not yet fooled, a random
 * square window of side s (a fraction p of the image, shrinking on the paper's schedule) whose every channel is set
 * to x +- eps, and keeps it if the margin loss decreases.
 *
 * Never reads a gradient: the attack talks to the model only through a handle whose `capabilities.gradients` is false
 * and whose `logits` it calls outside any gradient tape (needs: scores).
 * Norm: linf. Defaults, AutoAttack's: `{ queries: 5000, pInit: 0.8, restarts: 1 }`.
 * Loss: the margin z_y - max_{i != y} z_i (untargeted) / max_{i != t} z_i - z_t (targeted) for both modes, as in
 * AutoAttack's implementation (the paper uses cross-entropy for targeted). Inputs of rank 3 are images [h, w, c];
 * other shapes are treated as one column of features (windows of one feature). One query = one forward pass per
 * attacked example; restarts attack only the examples still robust.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Classifier, criterionLabels, defineAttack, type Rng } from '@parry/core';
import { z } from '@parry/core';

/** A handle on `model` that offers scores only: gradient-based code refuses it (`capabilities.gradients` is false). */
export function scoresOnly(model: Classifier): Classifier {
  return {
    name: model.name,
    inputShape: model.inputShape,
    bounds: model.bounds,
    numClasses: model.numClasses,
    outputKind: model.outputKind,
    labelNames: model.labelNames,
    capabilities: { scores: true, gradients: false },
    logits: (x) => tf.tidy(() => model.logits(x)),
  };
}

/** The paper's schedule for the fraction of pixels changed at query `it` of `queries` (rescaled to 10,000 queries). */
export function squareFraction(pInit: number, it: number, queries: number): number {
  const i = Math.floor((it / queries) * 10000);
  const cuts: [number, number][] = [[10, 1], [50, 2], [200, 4], [500, 8], [1000, 16], [2000, 32], [4000, 64], [6000, 128], [8000, 256]];
  let div = 512;
  for (const [limit, d] of cuts) {
    if (i <= limit) {
      div = d;
      break;
    }
  }
  return pInit / div;
}

function margins(logits: Float32Array | Int32Array | Uint8Array, k: number, labels: ArrayLike<number>, rows: readonly number[], targeted: boolean): Float64Array {
  const out = new Float64Array(rows.length);
  rows.forEach((r, j) => {
    const y = labels[r];
    let other = -Infinity;
    for (let c = 0; c < k; c++) if (c !== y) other = Math.max(other, logits[j * k + c]);
    const zy = logits[j * k + y];
    out[j] = targeted ? other - zy : zy - other;
  });
  return out;
}

export const square = defineAttack({
  name: 'parry/square',
  summary: 'Square Attack (Andriushchenko et al. 2020): score-based random search, no gradients, linf',
  norm: 'linf',
  mode: 'fixed-epsilon',
  needs: ['scores'],
  options: z.object({
    queries: z.number().int().positive().default(5000).describe('maximum queries per example (per restart)'),
    pInit: z.number().gt(0).lte(1).default(0.8).describe('initial fraction of pixels changed per query'),
    restarts: z.number().int().positive().default(1).describe('restarts on the examples still robust'),
  }),
  async run(model, x, criterion, context, options) {
    const oracle = scoresOnly(model);
    const n = x.shape[0];
    const rest = x.shape.slice(1);
    const [h, w, c] = rest.length === 3 ? rest : [rest.reduce((a, b) => a * b, 1), 1, 1];
    const d = h * w * c;
    const [lo, hi] = model.bounds;
    const k = model.numClasses;
    const labels = Array.from(await criterionLabels(criterion).data());
    const targeted = criterion.kind === 'targeted';
    const xv = (await x.data()) as Float32Array;
    const clip = (v: number) => (v < lo ? lo : v > hi ? hi : v);
    const evaluate = async (data: Float32Array, rows: readonly number[]): Promise<Float64Array> => {
      const t = tf.tensor(data, [rows.length, ...rest]);
      const l = oracle.logits(t);
      const v = (await l.data()) as Float32Array;
      tf.dispose([t, l]);
      context.counters.forwardEvaluations += rows.length;
      return margins(v, k, labels, rows, targeted);
    };
    const adversarials: tf.Tensor[] = [];
    for (const eps of context.epsilons) {
      const best = new Float32Array(xv);
      const margin = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
      for (let r = 0; r < options.restarts; r++) {
        const rows = r === 0 ? Array.from({ length: n }, (_, i) => i) : [...margin.keys()].filter((i) => margin[i] >= 0);
        if (rows.length === 0) break;
        const cur = await squareRun(rows, eps, options.queries, options.pInit, context.rng);
        rows.forEach((i, j) => {
          if (cur.margin[j] < margin[i]) {
            margin[i] = cur.margin[j];
            best.set(cur.adv.subarray(j * d, (j + 1) * d), i * d);
          }
        });
      }
      adversarials.push(tf.tensor(best, x.shape));
    }
    return { adversarials };

    async function squareRun(rows: number[], eps: number, queries: number, pInit: number, rng: Rng) {
      const m = rows.length;
      const adv = new Float32Array(m * d);
      // stripes: one random sign per example, column and channel
      rows.forEach((i, j) => {
        for (let col = 0; col < w; col++) {
          for (let ch = 0; ch < c; ch++) {
            const s = rng.int(2) === 0 ? -eps : eps;
            for (let row = 0; row < h; row++) {
              const p = (row * w + col) * c + ch;
              adv[j * d + p] = clip(xv[i * d + p] + s);
            }
          }
        }
      });
      const marg = await evaluate(adv, rows);
      for (let it = 1; it < queries; it++) {
        const act: number[] = [];
        for (let j = 0; j < m; j++) if (marg[j] >= 0) act.push(j);
        if (act.length === 0) break;
        const p = squareFraction(pInit, it, queries);
        const side = Math.min(Math.max(Math.round(Math.sqrt(p * h * w)), 1), h, w);
        const cand = new Float32Array(act.length * d);
        act.forEach((j, a) => {
          const i = rows[j];
          cand.set(adv.subarray(j * d, (j + 1) * d), a * d);
          const r0 = rng.int(h - side + 1);
          const c0 = rng.int(w - side + 1);
          // resample the signs until the window changes (as in the authors' code), at most 10 tries
          for (let tries = 0; tries < 10; tries++) {
            let changed = false;
            for (let ch = 0; ch < c; ch++) {
              const s = rng.int(2) === 0 ? -eps : eps;
              for (let row = r0; row < r0 + side; row++) {
                for (let col = c0; col < c0 + side; col++) {
                  const q = (row * w + col) * c + ch;
                  const v = clip(xv[i * d + q] + s);
                  if (v !== adv[j * d + q]) changed = true;
                  cand[a * d + q] = v;
                }
              }
            }
            if (changed) break;
          }
        });
        const mc = await evaluate(cand, act.map((j) => rows[j]));
        act.forEach((j, a) => {
          if (mc[a] < marg[j]) {
            marg[j] = mc[a];
            adv.set(cand.subarray(a * d, (a + 1) * d), j * d);
          }
        });
      }
      return { adv, margin: marg };
    }
  },
});
