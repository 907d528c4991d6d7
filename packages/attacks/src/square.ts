/**
 * Square Attack (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient black-box
 * adversarial attack via random search", https://arxiv.org/abs/1912.00049), linf and l2. Score-based random
 * search. linf: start from vertical stripes of +-eps, then each query proposes, for every example not yet fooled, a
 * random square window of side s (a fraction p of the image, shrinking on the paper's schedule) whose every channel
 * is set to x +- eps, and keeps it if the loss decreases. l2: start from a grid of "meta pseudo-Gaussian"
 * squares scaled to norm eps; each query moves the perturbation mass of a second random window into the first one
 * with a fresh pattern (odd side >= 3), keeping the norm at eps, and keeps it if the loss decreases.
 *
 * Two variants (option `variant`):
 * - `reference` (default; what AutoAttack's `standard`, `plus` and `rand` run): the authors' AutoAttack implementation
 *   (fra31/auto-attack `autoattack/square.py`, as AutoAttack constructs it). The p schedule is NOT rescaled to the
 *   query budget (`resc_schedule=False`: with 5,000 queries p ends at p_init/128); each iteration draws ONE window
 *   position for the whole batch, from [0, h - s) (the reference's `random_int` never picks the last position), one
 *   sign per channel shared by the batch (linf) or one pattern per iteration with signs per example and channel (l2);
 *   a no-op window is not redrawn; a candidate is kept when its loss is lower or it is misclassified (margin <= 0);
 *   examples with margin <= 0 count as fooled; `queries` iterations follow the initial query (up to queries + 1
 *   forward passes per example). Loss: the margin for untargeted runs; targeted runs accept on the cross-entropy of the
 *   target class and stop on the margin, as that code does.
 * - `strong`: Parry's earlier, stronger search (7-10 points lower robust accuracy than the reference on an MNIST CNN in
 *   our runs, so NOT comparable with published AutoAttack numbers): the schedule rescaled to the query budget (as
 *   Square's paper code does for budgets other than 10,000), a window drawn per example from every position, signs
 *   per example, a no-op window redrawn (up to 10 times); margin loss for both modes; `queries` forward passes per
 *   example in all.
 *
 * Never reads a gradient: the attack talks to the model only through a handle whose `capabilities.gradients` is false
 * and whose `logits` it calls outside any gradient tape (needs: scores).
 * Norm: linf (default) or l2. Defaults, AutoAttack's: `{ queries: 5000, pInit: 0.8, restarts: 1 }` (AutoAttack's
 * linf and l2 runs both use p_init 0.8). Inputs of rank 3 are images [h, w, c]; other shapes are treated as one
 * column of features (windows of one feature). Restarts attack only the examples still robust.
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

/**
 * The paper's schedule for the fraction of pixels changed at iteration `it`: AutoAttack's `p_selection`. With
 * `rescale` (the `strong` variant) the iteration is first mapped onto a 10,000-query run; AutoAttack passes
 * `resc_schedule=False`, so the reference variant uses the iteration as it is.
 */
export function squareFraction(pInit: number, it: number, queries: number, rescale = true): number {
  const i = rescale ? Math.floor((it / queries) * 10000) : it;
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

/** Cross-entropy of the label (the target, for targeted runs) from logits: the reference's targeted loss. */
function crossEntropy(logits: Float32Array | Int32Array | Uint8Array, k: number, labels: ArrayLike<number>, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length);
  rows.forEach((r, j) => {
    let mx = -Infinity;
    for (let c = 0; c < k; c++) mx = Math.max(mx, logits[j * k + c]);
    let se = 0;
    for (let c = 0; c < k; c++) se += Math.exp(logits[j * k + c] - mx);
    out[j] = mx + Math.log(se) - logits[j * k + labels[r]];
  });
  return out;
}

export const square = defineAttack({
  name: 'parry/square',
  summary: 'Square Attack (Andriushchenko et al. 2020): score-based random search, no gradients, linf or l2',
  norm: (o) => o.norm,
  mode: 'fixed-epsilon',
  needs: ['scores'],
  options: z.object({
    norm: z.enum(['linf', 'l2']).default('linf').describe('perturbation norm'),
    queries: z.number().int().positive().default(5000).describe('maximum queries per example (per restart)'),
    pInit: z.number().gt(0).lte(1).default(0.8).describe('initial fraction of pixels changed per query'),
    restarts: z.number().int().positive().default(1).describe('restarts on the examples still robust'),
    variant: z
      .enum(['reference', 'strong'])
      .default('reference')
      .describe("reference: AutoAttack's implementation (comparable with published numbers); strong: Parry's stronger search (schedule rescaled to the budget, windows and signs per example)"),
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
    const ref = options.variant === 'reference';
    /** Margins (success when <= 0 for the reference, < 0 for strong) and the loss the search minimises. */
    const evaluate = async (data: Float32Array, rows: readonly number[]): Promise<{ margin: Float64Array; loss: Float64Array }> => {
      const t = tf.tensor(data, [rows.length, ...rest]);
      const l = oracle.logits(t);
      const v = (await l.data()) as Float32Array;
      tf.dispose([t, l]);
      context.counters.forwardEvaluations += rows.length;
      const margin = margins(v, k, labels, rows, targeted);
      return { margin, loss: ref && targeted ? crossEntropy(v, k, labels, rows) : margin };
    };
    /** Still to fool: the reference treats margin <= 0 as fooled, strong only margin < 0. */
    const active = (m: number) => (ref ? m > 0 : m >= 0);
    /** A window's first row/column: the reference's `random_int(0, h - s)` is floor(u (h - s)), never h - s. */
    const start = (size: number, side: number, rng: Rng) => (ref ? (size - side > 0 ? rng.int(size - side) : 0) : rng.int(size - side + 1));
    const adversarials: tf.Tensor[] = [];
    for (const eps of context.epsilons) {
      const best = new Float32Array(xv);
      const margin = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
      for (let r = 0; r < options.restarts; r++) {
        const rows = r === 0 ? Array.from({ length: n }, (_, i) => i) : [...margin.keys()].filter((i) => active(margin[i]));
        if (rows.length === 0) break;
        const cur = await (options.norm === 'linf' ? squareRun : squareRunL2)(rows, eps, options.queries, options.pInit, context.rng);
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
      const first = await evaluate(adv, rows);
      const marg = first.margin;
      const loss = first.loss;
      // reference: `queries` iterations after the initial query; strong: `queries` forward passes in all
      for (let it = ref ? 0 : 1; it < queries; it++) {
        const act: number[] = [];
        for (let j = 0; j < m; j++) if (active(marg[j])) act.push(j);
        if (act.length === 0) break;
        const p = squareFraction(pInit, it, queries, !ref);
        const side = Math.min(Math.max(Math.round(Math.sqrt(p * h * w)), 1), h, w);
        // reference: one window and one sign per channel for the whole batch
        const r0b = ref ? start(h, side, rng) : 0;
        const c0b = ref ? start(w, side, rng) : 0;
        const signsB = ref ? Array.from({ length: c }, () => (rng.int(2) === 0 ? -eps : eps)) : [];
        const cand = new Float32Array(act.length * d);
        act.forEach((j, a) => {
          const i = rows[j];
          cand.set(adv.subarray(j * d, (j + 1) * d), a * d);
          const r0 = ref ? r0b : start(h, side, rng);
          const c0 = ref ? c0b : start(w, side, rng);
          // strong: resample the signs until the window changes, at most 10 tries; reference: no redraw
          for (let tries = 0; tries < (ref ? 1 : 10); tries++) {
            let changed = false;
            for (let ch = 0; ch < c; ch++) {
              const s = ref ? signsB[ch] : rng.int(2) === 0 ? -eps : eps;
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
        const e = await evaluate(cand, act.map((j) => rows[j]));
        act.forEach((j, a) => {
          const better = e.loss[a] < loss[j];
          if (better) loss[j] = e.loss[a];
          if (better || (ref && e.margin[a] <= 0)) {
            marg[j] = e.margin[a];
            adv.set(cand.subarray(a * d, (a + 1) * d), j * d);
          }
        });
      }
      return { adv, margin: marg };
    }

    // l2: perturbations are sums of "meta pseudo-Gaussian" squares; each query moves the perturbation mass of one
    // random window into another and redraws the pattern there, keeping the total l2 norm at eps.
    async function squareRunL2(rows: number[], eps: number, queries: number, pInit: number, rng: Rng) {
      const m = rows.length;
      const delta = new Float64Array(m * d);
      const adv = new Float32Array(m * d);
      const materialize = (j: number, dl: Float64Array, out: Float32Array, o: number) => {
        // x + eps * delta / ||delta||_2, clipped; returns nothing, writes into out at offset o
        let ss = 0;
        for (let q = 0; q < d; q++) ss += dl[j * d + q] ** 2;
        const f = eps / Math.sqrt(ss + 1e-24);
        const i = rows[j];
        for (let q = 0; q < d; q++) out[o + q] = clip(xv[i * d + q] + dl[j * d + q] * f);
      };
      // init: a grid of 5 x 5 (or fewer) pseudo-Gaussian squares with random signs per channel
      const sInit = Math.max(1, Math.floor(h / 5));
      const sp = Math.floor((h - sInit * 5) / 2);
      // reference: one pattern per grid square for the whole batch (its `eta(s)`), signs per example and channel
      const shared = new Map<string, ReturnType<typeof metaPseudoGaussian>>();
      if (ref) {
        for (let ch0 = sp; ch0 + sInit <= h && ch0 < sp + 5 * sInit; ch0 += sInit) {
          for (let cw0 = sp; cw0 + sInit <= w && cw0 < sp + 5 * sInit; cw0 += sInit) shared.set(`${ch0},${cw0}`, metaPseudoGaussian(sInit, Math.min(sInit, w), rng));
        }
      }
      for (let j = 0; j < m; j++) {
        for (let ch0 = sp; ch0 + sInit <= h && ch0 < sp + 5 * sInit; ch0 += sInit) {
          for (let cw0 = sp; cw0 + sInit <= w && cw0 < sp + 5 * sInit; cw0 += sInit) {
            const pat = shared.get(`${ch0},${cw0}`) ?? metaPseudoGaussian(sInit, Math.min(sInit, w), rng);
            for (let ch = 0; ch < c; ch++) {
              const sign = rng.int(2) === 0 ? -1 : 1;
              for (let a = 0; a < pat.rows; a++) for (let b = 0; b < pat.cols; b++) delta[j * d + ((ch0 + a) * w + cw0 + b) * c + ch] += sign * pat.v[a * pat.cols + b];
            }
          }
        }
        // ensure a non-zero start even for tiny inputs
        let ss = 0;
        for (let q = 0; q < d; q++) ss += delta[j * d + q] ** 2;
        if (ss === 0) for (let q = 0; q < d; q++) delta[j * d + q] = rng.int(2) === 0 ? -1 : 1;
        materialize(j, delta, adv, j * d);
        // the effective delta is what survives clipping
        const i = rows[j];
        for (let q = 0; q < d; q++) delta[j * d + q] = adv[j * d + q] - xv[i * d + q];
      }
      const first = await evaluate(adv, rows);
      const marg = first.margin;
      const loss = first.loss;
      for (let it = ref ? 0 : 1; it < queries; it++) {
        const act: number[] = [];
        for (let j = 0; j < m; j++) if (active(marg[j])) act.push(j);
        if (act.length === 0) break;
        const p = squareFraction(pInit, it, queries, !ref);
        let side = Math.max(Math.round(Math.sqrt((p * d) / c)), 3);
        if (side % 2 === 0) side++;
        side = Math.min(side, h, w);
        const cand = new Float32Array(act.length * d);
        const candDelta = new Float64Array(act.length * d);
        // reference: both windows and the pattern are drawn once per iteration for the whole batch
        const wb = ref ? [start(h, side, rng), start(w, side, rng), start(h, side, rng), start(w, side, rng)] : [];
        const patB = ref ? metaPseudoGaussian(side, side, rng) : undefined;
        act.forEach((j, a) => {
          const i = rows[j];
          const cur = delta.subarray(j * d, (j + 1) * d);
          const nd = candDelta.subarray(a * d, (a + 1) * d);
          nd.set(cur);
          const [r1, c1, r2, c2] = ref ? wb : [rng.int(h - side + 1), rng.int(w - side + 1), rng.int(h - side + 1), rng.int(w - side + 1)];
          const inW = (row: number, col: number, r0: number, c0: number) => row >= r0 && row < r0 + side && col >= c0 && col < c0 + side;
          const pat = patB ?? metaPseudoGaussian(side, side, rng);
          for (let ch = 0; ch < c; ch++) {
            // per channel: norms of the whole perturbation, of window 1, and of the union of both windows
            let nImage = 0, nWin1 = 0, nUnion = 0;
            for (let row = 0; row < h; row++) {
              for (let col = 0; col < w; col++) {
                const v = cur[(row * w + col) * c + ch] ** 2;
                nImage += v;
                const w1 = inW(row, col, r1, c1);
                if (w1) nWin1 += v;
                if (w1 || inW(row, col, r2, c2)) nUnion += v;
              }
            }
            const sign = rng.int(2) === 0 ? -1 : 1;
            // new window content: the pattern plus the old window content (normalized), rescaled to hold the mass
            // of both windows plus the budget left (eps^2 - ||delta||^2) / c
            const win = new Float64Array(side * side);
            let nw = 0;
            for (let a2 = 0; a2 < side; a2++) {
              for (let b2 = 0; b2 < side; b2++) {
                const q = ((r1 + a2) * w + c1 + b2) * c + ch;
                const v = sign * pat.v[a2 * side + b2] + cur[q] / (Math.sqrt(nWin1) + 1e-12);
                win[a2 * side + b2] = v;
                nw += v * v;
              }
            }
            const target = Math.sqrt(Math.max(eps * eps - nImage, 0) / c + nUnion);
            for (let a2 = 0; a2 < side; a2++) for (let b2 = 0; b2 < side; b2++) nd[((r2 + a2) * w + c2 + b2) * c + ch] = 0;
            for (let a2 = 0; a2 < side; a2++) for (let b2 = 0; b2 < side; b2++) nd[((r1 + a2) * w + c1 + b2) * c + ch] = (win[a2 * side + b2] / (Math.sqrt(nw) + 1e-12)) * target;
          }
          // project onto the eps-sphere and the bounds; keep the clipped delta
          let ss = 0;
          for (let q = 0; q < d; q++) ss += nd[q] ** 2;
          const f = eps / Math.sqrt(ss + 1e-24);
          for (let q = 0; q < d; q++) {
            const v = clip(xv[i * d + q] + nd[q] * f);
            cand[a * d + q] = v;
            nd[q] = v - xv[i * d + q];
          }
        });
        const e = await evaluate(cand, act.map((j) => rows[j]));
        act.forEach((j, a) => {
          const better = e.loss[a] < loss[j];
          if (better) loss[j] = e.loss[a];
          if (better || (ref && e.margin[a] <= 0)) {
            marg[j] = e.margin[a];
            adv.set(cand.subarray(a * d, (a + 1) * d), j * d);
            delta.set(candDelta.subarray(a * d, (a + 1) * d), j * d);
          }
        });
      }
      return { adv, margin: marg };
    }
  },
});

/** Centered pattern of nested rectangles with weights 1/(k+1)^2 (the paper's pseudo-Gaussian), unit l2 norm. */
function pseudoGaussianRectangles(rows: number, cols: number): Float64Array {
  const v = new Float64Array(rows * cols);
  const rc = Math.floor(rows / 2) + 1;
  const cc = Math.floor(cols / 2) + 1;
  let r0 = rc - 1;
  let c0 = cc - 1;
  for (let k = 0; k < Math.max(rc, cc); k++) {
    for (let a = Math.max(r0, 0); a < Math.min(r0 + 2 * k + 1, rows); a++) {
      for (let b = Math.max(c0, 0); b < Math.min(c0 + 2 * k + 1, cols); b++) v[a * cols + b] += 1 / (k + 1) ** 2;
    }
    r0--;
    c0--;
  }
  let ss = 0;
  for (const x of v) ss += x * x;
  const f = 1 / Math.sqrt(ss || 1);
  for (let q = 0; q < v.length; q++) v[q] *= f;
  return v;
}

/** Two pseudo-Gaussian halves of opposite sign ("meta" pattern), randomly transposed; unit l2 norm. */
function metaPseudoGaussian(rows: number, cols: number, rng: Rng): { v: Float64Array; rows: number; cols: number } {
  const v = new Float64Array(rows * cols);
  const top = Math.floor(rows / 2);
  if (top > 0) {
    const a = pseudoGaussianRectangles(top, cols);
    for (let q = 0; q < a.length; q++) v[q] = a[q];
  }
  const b = pseudoGaussianRectangles(rows - top, cols);
  for (let q = 0; q < b.length; q++) v[top * cols + q] = -b[q];
  let ss = 0;
  for (const x of v) ss += x * x;
  const f = 1 / Math.sqrt(ss || 1);
  for (let q = 0; q < v.length; q++) v[q] *= f;
  if (rows === cols && rng.float() > 0.5) {
    const t = new Float64Array(v.length);
    for (let a2 = 0; a2 < rows; a2++) for (let b2 = 0; b2 < cols; b2++) t[b2 * rows + a2] = v[a2 * cols + b2];
    return { v: t, rows, cols };
  }
  return { v, rows, cols };
}
