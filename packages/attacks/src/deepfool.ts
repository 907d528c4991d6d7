/**
 * DeepFool (Moosavi-Dezfooli, Fawzi & Frossard 2016, "DeepFool: a simple and accurate method to fool deep neural
 * networks", https://arxiv.org/abs/1511.04599), multi-class. Each step linearizes the logit differences
 * f_k - f_y for the candidate classes k, moves to the nearest linearized boundary
 * (r = |f'_k| / ||w'_k||_q * direction, q the dual norm), and stops per example once it is misclassified; the
 * result is x0 + (1 + overshoot) * sum r, clipped to the bounds.
 *
 * Norm: l2 (default; direction w / ||w||_2) or linf (q = 1, direction sign(w)). Mode: minimization (returns the
 * smallest perturbation it finds; core derives the per-epsilon results). Untargeted only.
 * Defaults, the paper's and Foolbox's: `{ steps: 50, overshoot: 0.02, candidates: 10 }` (candidates = the top
 * classes by clean logit, label excluded, as in the authors' code). A tiny 1e-4 is added to |f'| as in the
 * reference implementation so each step crosses the boundary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipToBounds, defineAttack, isAdversarial, norm } from '@parry/core';
import { z } from '@parry/core';
import { perExample } from './internal.js';

export const deepfool = defineAttack({
  name: 'parry/deepfool',
  summary: 'DeepFool (Moosavi-Dezfooli et al. 2016), minimal l2 or linf perturbation, multi-class',
  norm: (o) => o.norm,
  mode: 'minimization',
  criteria: ['untargeted'],
  needs: ['gradients'],
  options: z.object({
    norm: z.enum(['l2', 'linf']).default('l2').describe('perturbation norm'),
    steps: z.number().int().positive().default(50).describe('maximum iterations'),
    overshoot: z.number().min(0).default(0.02).describe('final perturbation is (1 + overshoot) * the accumulated one'),
    candidates: z.number().int().min(2).default(10).describe('classes considered: the label and the top (candidates - 1) others by clean logit'),
  }),
  async run(model, x, criterion, context, options) {
    if (criterion.kind !== 'untargeted') throw new Error('parry/deepfool supports untargeted attacks only');
    const n = x.shape[0];
    const labels = tf.cast(criterion.labels, 'int32') as tf.Tensor1D;
    const k = model.numClasses;
    const c = Math.min(options.candidates, k) - 1;
    // the other candidate classes per example, ordered by clean logit: [n, c]
    const others = tf.tidy(() => {
      const logits = model.logits(x);
      return tf.topk(tf.sub(logits, tf.mul(tf.oneHot(labels, k), 1e9)), c, true).indices;
    });
    context.counters.forwardEvaluations += n;
    const classCols = Array.from({ length: c }, (_, j) => tf.tidy(() => tf.squeeze(tf.slice(others, [0, j], [-1, 1]), [1])));
    let total = tf.zerosLike(x);
    let adv = tf.clone(x);
    try {
      for (let step = 0; step < options.steps; step++) {
        const active = tf.tidy(() => tf.logicalNot(isAdversarial(criterion, model.logits(adv))));
        context.counters.forwardEvaluations += n;
        const anyActive = (await active.data()).some(Boolean);
        if (!anyActive) {
          active.dispose();
          break;
        }
        const fs: tf.Tensor1D[] = [];
        const ws: tf.Tensor[] = [];
        for (let j = 0; j < c; j++) {
          const col = classCols[j];
          let f: tf.Tensor1D | undefined;
          const { value, grads } = tf.engine().gradients(() => {
            const l = model.logits(adv);
            const d = tf.sub(tf.sum(tf.mul(l, tf.oneHot(col, k)), 1), tf.sum(tf.mul(l, tf.oneHot(labels, k)), 1)) as tf.Tensor1D;
            f = tf.keep(tf.clone(d));
            // summing is exact: examples are independent, so d(sum)/dx_i = d(d_i)/dx_i
            return tf.sum(d) as tf.Scalar;
          }, [adv]);
          value.dispose();
          fs.push(f!);
          ws.push(grads[0]);
          context.counters.gradientEvaluations += n;
        }
        const next = tf.tidy(() => {
          const dual = options.norm === 'l2' ? 'l2' : 'l1';
          const f = tf.stack(fs, 1); // [n, c]
          const wn = tf.stack(ws.map((w) => norm(dual, w)), 1); // [n, c]
          const dist = tf.div(tf.abs(f), tf.add(wn, 1e-8));
          const best = tf.argMin(dist, 1); // [n]
          const pick = c === 1 ? tf.onesLike(f) : tf.oneHot(best, c); // [n, c]
          const fBest = tf.sum(tf.mul(tf.abs(f), pick), 1);
          const wnBest = tf.sum(tf.mul(wn, pick), 1);
          const W = tf.stack(ws, 1); // [n, c, ...]
          const wBest = tf.sum(tf.mul(W, tf.reshape(pick, [n, c, ...x.shape.slice(1).map(() => 1)])), 1);
          const scale = tf.div(tf.add(fBest, 1e-4), tf.add(wnBest, 1e-8)) as tf.Tensor1D;
          let r: tf.Tensor;
          if (options.norm === 'l2') r = tf.mul(wBest, perExample(tf.div(scale, tf.add(wnBest, 1e-8)), wBest));
          else r = tf.mul(tf.sign(wBest), perExample(scale, wBest));
          r = tf.mul(r, perExample(tf.cast(active, 'float32'), r));
          const tot = tf.add(total, r);
          return { tot, adv: clipToBounds(tf.add(x, tf.mul(tot, 1 + options.overshoot)), model.bounds) };
        });
        tf.dispose([...fs, ...ws, active, total, adv]);
        total = next.tot;
        adv = next.adv;
      }
      return { adversarials: [adv] };
    } finally {
      tf.dispose([labels, others, total, ...classCols]);
    }
  },
});
