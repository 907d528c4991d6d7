/**
 * Carlini & Wagner L2 (Carlini & Wagner 2017, "Towards Evaluating the Robustness of Neural Networks",
 * https://arxiv.org/abs/1608.04644). Minimizes ||x' - x||_2^2 + c * f(x') over w with x' = lo + (hi - lo) *
 * (tanh(w) + 1) / 2 (the change of variables that keeps x' inside the bounds), f = max(z_y - max_{i != y} z_i, -kappa)
 * untargeted or max(max_{i != t} z_i - z_t, -kappa) targeted, with Adam; a per-example binary search over c
 * (x10 until the first success, then bisection) and, per example, the smallest successful x' over all steps and all c.
 *
 * Norm: l2. Mode: minimization. Defaults, the paper's / the authors' code: `{ binarySearchSteps: 9, initialConst: 1e-3,
 * learningRate: 1e-2, confidence: 0, abortEarly: true }`; `steps: 1000` per c instead of the code's 10,000 (abort early
 * usually stops both well before; raise it for a paper-exact run). Abort early: every steps/10 iterations, stop
 * this c when the batch loss has not dropped below 0.9999 of its last checked value, as in the authors' code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { defineAttack, isAdversarial, logitMargin } from '@parry/core';
import { z } from '@parry/core';
import { whereRows } from './internal.js';

export const carliniWagnerL2 = defineAttack({
  name: 'parry/cw',
  summary: 'Carlini & Wagner L2 (2017): tanh variables, Adam, binary search over c; minimal l2 perturbation',
  norm: 'l2',
  mode: 'minimization',
  needs: ['gradients'],
  options: z.object({
    binarySearchSteps: z.number().int().positive().default(9).describe('values of c tried per example (binary search)'),
    steps: z.number().int().positive().default(1000).describe('Adam iterations per value of c'),
    learningRate: z.number().positive().default(1e-2).describe('Adam step size in w (tanh space)'),
    initialConst: z.number().positive().default(1e-3).describe('first value of c, the weight of the classification loss'),
    confidence: z.number().min(0).default(0).describe('kappa: required logit margin of the adversarial'),
    abortEarly: z.boolean().default(true).describe('stop a value of c when the loss stops decreasing'),
  }),
  async run(model, x, criterion, context, options) {
    const [lo, hi] = model.bounds;
    const n = x.shape[0];
    const kappa = options.confidence;
    const w0 = tf.tidy(() => tf.atanh(tf.clipByValue(tf.sub(tf.mul(tf.div(tf.sub(x, lo), hi - lo), 2), 1), -1 + 1e-6, 1 - 1e-6)));
    const fromW = (w: tf.Tensor) => tf.add(lo, tf.mul((hi - lo) / 2, tf.add(tf.tanh(w), 1)));
    const c = new Array<number>(n).fill(options.initialConst);
    const lower = new Array<number>(n).fill(0);
    const upper = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
    let bestAdv = tf.clone(x);
    let bestDist = tf.fill([n], Number.POSITIVE_INFINITY) as tf.Tensor1D;
    const b1 = 0.9;
    const b2 = 0.999;
    const checkEvery = Math.max(1, Math.ceil(options.steps / 10));
    try {
      for (let bs = 0; bs < options.binarySearchSteps; bs++) {
        const cT = tf.tensor1d(c, 'float32');
        let w = tf.clone(w0);
        let m = tf.zerosLike(w0);
        let v = tf.zerosLike(w0);
        let found = tf.zeros([n], 'bool') as tf.Tensor1D;
        let prev = Number.POSITIVE_INFINITY;
        try {
          for (let t = 1; t <= options.steps; t++) {
            let xa: tf.Tensor | undefined;
            let logits: tf.Tensor2D | undefined;
            let l2sq: tf.Tensor1D | undefined;
            const { value, grads } = tf.engine().gradients(() => {
              const xw = fromW(w);
              const l = model.logits(xw);
              const d2 = tf.sum(tf.reshape(tf.square(tf.sub(xw, x)), [n, -1]), 1) as tf.Tensor1D;
              xa = tf.keep(tf.clone(xw));
              logits = tf.keep(tf.clone(l));
              l2sq = tf.keep(tf.clone(d2));
              const f = tf.maximum(logitMargin(criterion, l), -kappa);
              return tf.sum(tf.add(d2, tf.mul(cT, f))) as tf.Scalar;
            }, [w]);
            context.counters.gradientEvaluations += n;
            const g = grads[0];
            const upd = tf.tidy(() => {
              const m2 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
              const v2 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
              const mh = tf.div(m2, 1 - b1 ** t);
              const vh = tf.div(v2, 1 - b2 ** t);
              const w2 = tf.sub(w, tf.mul(options.learningRate, tf.div(mh, tf.add(tf.sqrt(vh), 1e-8))));
              const ok = tf.logicalAnd(isAdversarial(criterion, logits!), tf.less(logitMargin(criterion, logits!), -kappa + (kappa === 0 ? 0 : 1e-6)));
              const dist = tf.sqrt(l2sq!);
              const better = tf.logicalAnd(ok, tf.less(dist, bestDist));
              return {
                m2,
                v2,
                w2,
                found: tf.logicalOr(found, ok) as tf.Tensor1D,
                bestAdv: whereRows(better, xa!, bestAdv),
                bestDist: tf.where(better, dist, bestDist) as tf.Tensor1D,
              };
            });
            tf.dispose([g, m, v, w, found, bestAdv, bestDist, xa!, logits!, l2sq!]);
            m = upd.m2;
            v = upd.v2;
            w = upd.w2;
            found = upd.found;
            bestAdv = upd.bestAdv;
            bestDist = upd.bestDist;
            if (options.abortEarly && t % checkEvery === 0) {
              const loss = (await value.data())[0];
              value.dispose();
              if (loss > prev * 0.9999) break;
              prev = loss;
            } else {
              value.dispose();
            }
          }
          const ok = await found.data();
          for (let i = 0; i < n; i++) {
            if (ok[i]) {
              upper[i] = Math.min(upper[i], c[i]);
              c[i] = (lower[i] + upper[i]) / 2;
            } else {
              lower[i] = Math.max(lower[i], c[i]);
              c[i] = Number.isFinite(upper[i]) ? (lower[i] + upper[i]) / 2 : c[i] * 10;
            }
          }
        } finally {
          tf.dispose([cT, w, m, v, found]);
        }
      }
      const out = bestAdv;
      bestAdv = undefined as unknown as tf.Tensor;
      return { adversarials: [out] };
    } finally {
      tf.dispose([w0, bestDist]);
      if (bestAdv) bestAdv.dispose();
    }
  },
});

/** Short alias of `carliniWagnerL2`. */
export const cw = carliniWagnerL2;
