import * as tf from '@tensorflow/tfjs-core';
import { InputError, UsageError } from '@parry/core';

/**
 * Adam and SGD written out in tfjs ops, so their whole state (step count and slots) can be saved and restored
 * bit-exactly: tfjs' own `AdamOptimizer.setWeights` recomputes `beta^t` with `pow` instead of the running product it
 * used before, so a resumed run would drift in the last bits. Bias corrections here are computed in float64 from
 * the step count, the same way whether or not the run was resumed.
 */
export type OptimizerKind = 'adam' | 'adamw' | 'sgd';

export interface OptimizerConfig {
  kind: OptimizerKind;
  /** Adam beta1 (default 0.9). */
  beta1?: number;
  /** Adam beta2 (default 0.999). */
  beta2?: number;
  /** Adam epsilon (default 1e-7, tfjs' default). */
  epsilon?: number;
  /** SGD momentum (default 0.9; 0 = plain SGD). */
  momentum?: number;
  /** SGD Nesterov momentum (default false). */
  nesterov?: boolean;
  /** AdamW decoupled weight decay (Loshchilov & Hutter 2019): `w -= lr * weightDecay * w` each step (default 0.01). */
  weightDecay?: number;
}

export interface OptimizerExtras {
  /** AdamW: which variables decay (same order as `variables`; default all). Biases and LayerNorm usually do not. */
  decay?: readonly boolean[];
  /**
   * Per-variable learning-rate multipliers (same order as `variables`; default all 1): variable i is updated with
   * `lr * lrScale[i]`, in the Adam/SGD step and in AdamW's decoupled decay alike (layer-wise learning-rate decay).
   * Each must be finite and > 0.
   */
  lrScale?: readonly number[];
}

export interface TrainOptimizer {
  readonly config: Required<OptimizerConfig>;
  /** Updates taken so far. */
  readonly step: number;
  /**
   * Apply gradients (by variable name) with this learning rate. Variables without a gradient are left alone.
   * `gradScale` multiplies every gradient first (gradient clipping's factor), one variable at a time, so no scaled
   * copy of all the gradients is made.
   */
  apply(grads: Record<string, tf.Tensor>, learningRate: number, gradScale?: number): void;
  /** Slots in a fixed order (for checkpoints); owned by the optimizer. */
  slots(): Array<{ name: string; tensor: tf.Tensor }>;
  /** Restore the step count and slots saved by `slots()`. */
  restore(step: number, slots: Record<string, tf.Tensor>): void;
  dispose(): void;
}

let nextId = 0;

export function createOptimizer(config: OptimizerConfig, variables: readonly tf.Variable[], extras: OptimizerExtras = {}): TrainOptimizer {
  if (config.kind !== 'adam' && config.kind !== 'adamw' && config.kind !== 'sgd') {
    throw new UsageError(`unknown optimizer "${String(config.kind)}"; use adam, adamw or sgd`);
  }
  if (config.weightDecay != null && !(config.weightDecay >= 0)) throw new UsageError(`weight decay must be >= 0, got ${config.weightDecay}`);
  const lrScale = extras.lrScale;
  if (lrScale) {
    if (lrScale.length !== variables.length) throw new UsageError(`lrScale has ${lrScale.length} entries for ${variables.length} variables; pass one scale per variable`);
    const bad = lrScale.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x) || !(x > 0));
    if (bad >= 0) throw new UsageError(`lrScale[${bad}] is ${String(lrScale[bad])}; each learning-rate scale must be a finite number > 0`);
  }
  const full: Required<OptimizerConfig> = {
    kind: config.kind,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    epsilon: config.epsilon ?? 1e-7,
    momentum: config.momentum ?? 0.9,
    nesterov: config.nesterov ?? false,
    weightDecay: config.kind === 'adamw' ? (config.weightDecay ?? 0.01) : 0,
  };
  const adamLike = full.kind === 'adam' || full.kind === 'adamw';
  const slotNames = adamLike ? ['m', 'v'] : full.momentum > 0 ? ['buf'] : [];
  const slots = new Map<string, tf.Variable>();
  for (const [i, v] of variables.entries()) {
    for (const s of slotNames) {
      const zeros = tf.zerosLike(v);
      slots.set(`${i}/${s}`, tf.variable(zeros, false, `parry-opt-${s}-${v.name}-${i}-${nextId++}`));
      zeros.dispose();
    }
  }
  let step = 0;
  return {
    config: full,
    get step() {
      return step;
    },
    apply(grads, lr, gradScale = 1) {
      step += 1;
      const { beta1, beta2, epsilon, momentum, nesterov } = full;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      // one tidy per variable, and nested tidies inside it: each variable's temporaries are freed before the next
      // variable's and most of them before its own update ends, so the step's peak grows by a few copies of the
      // largest variable (BERT-base's 89 MiB word embeddings), not by ten times all of them (~4 GiB on wasm)
      variables.forEach((v, i) => {
        tf.tidy(() => {
          const g0 = grads[v.name];
          if (!g0) return;
          // a JS number: with a scale of 1 it is exactly lr, so unscaled runs keep their bits
          const lri = lrScale ? lr * lrScale[i]! : lr;
          const g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
          if (adamLike) {
            const m = slots.get(`${i}/m`)!;
            const s = slots.get(`${i}/v`)!;
            const m1 = tf.tidy(() => tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
            m.assign(m1);
            const v1 = tf.tidy(() => tf.add(tf.mul(s, beta2), tf.tidy(() => tf.mul(tf.square(g), 1 - beta2))));
            s.assign(v1);
            // the same ops in the same order as one expression, in small tidies: at most three temporaries of the
            // variable's size are alive at once besides m1, v1 and the gradient
            const denominator = tf.tidy(() => tf.add(tf.sqrt(tf.div(v1, c2)), epsilon));
            const update = tf.tidy(() => tf.div(tf.div(m1, c1), denominator));
            denominator.dispose();
            const decayed = full.weightDecay > 0 && (extras.decay?.[i] ?? true) ? tf.mul(v, 1 - lri * full.weightDecay) : v;
            const next = tf.tidy(() => tf.sub(decayed, tf.mul(update, lri)));
            tf.dispose([update, ...(decayed === v ? [] : [decayed])]);
            v.assign(next);
          } else if (momentum > 0) {
            const b = slots.get(`${i}/buf`)!;
            const b1 = tf.add(tf.mul(b, momentum), g);
            b.assign(b1);
            const d = nesterov ? tf.add(g, tf.mul(b1, momentum)) : b1;
            v.assign(tf.sub(v, tf.mul(d, lri)));
          } else {
            v.assign(tf.sub(v, tf.mul(g, lri)));
          }
        });
      });
    },
    slots() {
      return [...slots.entries()].map(([name, tensor]) => ({ name, tensor }));
    },
    restore(s, saved) {
      for (const [name, v] of slots) {
        const t = saved[name];
        if (!t || t.shape.join() !== v.shape.join()) throw new InputError(`the checkpoint has no optimizer slot ${name} of shape [${v.shape}]: it was written for another model or optimizer; pass another --checkpoint-dir`);
        v.assign(t);
      }
      step = s;
    },
    dispose() {
      for (const v of slots.values()) v.dispose();
      slots.clear();
    },
  };
}
