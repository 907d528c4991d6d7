/**
 * Embedding-space adversarial training for Transformer text classifiers, as hooks of the text trainer. Perturbations
 * are added to the word embeddings (Hugging Face `inputs_embeds`), one per example, with padded positions masked out;
 * every forward pass of a step reuses the step's dropout seed (same masks as the clean pass).
 *
 * - {@link fgm} — FGM (Miyato et al. 2017, https://arxiv.org/abs/1605.07725): adds the loss at embeds + eps g/||g||_2.
 * - {@link pgdEmbed} — PGD-K (Madry et al. 2018) in an L2 or Linf ball; adds the loss at the last iterate.
 * - {@link freelb} — FreeLB (Zhu et al. 2020, https://arxiv.org/abs/1909.11764): replaces the step by the mean of the
 *   losses at K ascent points, accumulating their parameter gradients.
 * - {@link smart} — SMART (Jiang et al. 2020, https://arxiv.org/abs/1911.03437): smoothness-inducing adversarial
 *   regulariser plus the Bregman proximal term against a momentum (EMA) copy of the parameters.
 * - {@link rdrop} — R-Drop (Liang et al. 2021, https://arxiv.org/abs/2106.14448): two dropout passes, mean task loss
 *   plus alpha times their symmetric KL / 2.
 *
 * {@link embeddingPgdAccuracy} measures accuracy under an embedding-space PGD attack (for comparing these methods).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, defineDefense, parseOptions, type TextBatch, UsageError, z } from '@parry/core';
import { multiLabelMetrics } from '@parry/metrics';
import { disposeBatch, lengthSortedBatches, padBatch } from '@parry/text';
import { cleanGradients, type EncodedTextSet, gradientsAtOffset, type StepGradients, type TextDefense, type TextModel, type TextStepContext, type TextTrainStart, textLoss } from './trainer.js';

/** Norm of an embedding perturbation, taken per example over the whole `[T, E]` slice. */
export type PerturbNorm = 'l2' | 'linf';

const isMulti = (m: TextModel) => m.outputKind === 'multi-label';

/** float32 `[B, T, 1]` mask: 1 on tokens, 0 on padding. */
export function tokenMask(batch: TextBatch): tf.Tensor3D {
  return tf.tidy(() => tf.expandDims(tf.cast(batch.attentionMask, 'float32'), 2) as tf.Tensor3D);
}

/** Per-example L2 or Linf norm of `x` `[B, T, E]`, as `[B, 1, 1]`. */
export function perExampleNorm(x: tf.Tensor3D, norm: PerturbNorm): tf.Tensor3D {
  return tf.tidy(() => (norm === 'l2' ? tf.sqrt(tf.sum(tf.square(x), [1, 2], true)) : tf.max(tf.abs(x), [1, 2], true)) as tf.Tensor3D);
}

/** `x / ||x||` per example (masked), 0 where the masked `x` is all zero. */
function normalise(x: tf.Tensor3D, mask: tf.Tensor3D, norm: PerturbNorm): tf.Tensor3D {
  return tf.tidy(() => {
    const m = tf.mul(x, mask) as tf.Tensor3D;
    return tf.divNoNan(m, perExampleNorm(m, norm)) as tf.Tensor3D;
  });
}

/** FGM's perturbation: `eps * g / ||g||_2` per example, padding masked out (0 where `g` is 0). */
export function fgmPerturbation(grad: tf.Tensor3D, mask: tf.Tensor3D, eps: number): tf.Tensor3D {
  return tf.tidy(() => tf.mul(normalise(grad, mask, 'l2'), eps) as tf.Tensor3D);
}

/** Project `delta` per example onto the ball `||delta|| <= eps` (L2: rescale if outside; Linf: clip), padding zeroed. */
export function projectPerturbation(delta: tf.Tensor3D, mask: tf.Tensor3D, eps: number, norm: PerturbNorm): tf.Tensor3D {
  return tf.tidy(() => {
    const d = tf.mul(delta, mask) as tf.Tensor3D;
    if (norm === 'linf') return tf.clipByValue(d, -eps, eps) as tf.Tensor3D;
    const n = perExampleNorm(d, 'l2');
    return tf.mul(d, tf.minimum(1, tf.div(eps, tf.maximum(n, 1e-30)))) as tf.Tensor3D;
  });
}

/**
 * One PGD ascent step on the embeddings: `delta + alpha * g / ||g||_2` (L2) or `delta + alpha * sign(g)` (Linf),
 * projected onto the eps-ball per example, padding masked out.
 */
export function pgdStep(delta: tf.Tensor3D, grad: tf.Tensor3D, mask: tf.Tensor3D, o: { eps: number; alpha: number; norm: PerturbNorm }): tf.Tensor3D {
  return tf.tidy(() => {
    const dir = o.norm === 'l2' ? normalise(grad, mask, 'l2') : tf.mul(tf.sign(grad), mask);
    return projectPerturbation(tf.add(delta, tf.mul(dir, o.alpha)) as tf.Tensor3D, mask, o.eps, o.norm);
  });
}

/**
 * A sample uniform in the eps-ball of each example over its real tokens: Linf, uniform in [-eps, eps]; L2, a Gaussian
 * direction with radius `eps * u^(1/d)`, d = tokens * E. Padding is zero.
 */
export function randomInBall(shape: [number, number, number], mask: tf.Tensor3D, eps: number, norm: PerturbNorm, seed: number): tf.Tensor3D {
  return tf.tidy(() => {
    const rng = createRng(seed);
    if (norm === 'linf') return tf.mul(tf.randomUniform(shape, -eps, eps, 'float32', rng.tfSeed()), mask) as tf.Tensor3D;
    const dir = normalise(tf.randomNormal(shape, 0, 1, 'float32', rng.tfSeed()) as tf.Tensor3D, mask, 'l2');
    const dims = tf.mul(tf.sum(mask, [1, 2], true), shape[2]);
    const u = tf.randomUniform([shape[0], 1, 1], 0, 1, 'float32', rng.tfSeed());
    return tf.mul(dir, tf.mul(tf.pow(u, tf.div(1, tf.maximum(dims, 1))), eps)) as tf.Tensor3D;
  });
}

/**
 * FreeLB's start (the authors' code): L2, `U(-1, 1) * mag / sqrt(L * E)` with L the example's tokens; Linf,
 * `U(-mag, mag)`; padding zero; `mag` 0 gives zeros.
 */
export function freelbInit(shape: [number, number, number], mask: tf.Tensor3D, mag: number, norm: PerturbNorm, seed: number): tf.Tensor3D {
  return tf.tidy(() => {
    if (mag === 0) return tf.zeros(shape) as tf.Tensor3D;
    if (norm === 'linf') return tf.mul(tf.randomUniform(shape, -mag, mag, 'float32', seed), mask) as tf.Tensor3D;
    const scale = tf.div(mag, tf.sqrt(tf.maximum(tf.mul(tf.sum(mask, [1, 2], true), shape[2]), 1)));
    return tf.mul(tf.mul(tf.randomUniform(shape, -1, 1, 'float32', seed), mask), scale) as tf.Tensor3D;
  });
}

/**
 * FreeLB's ascent: `delta + advLr * g / max(||g||, 1e-8)` (norm per example, L2 or Linf), then, when `advMaxNorm` > 0,
 * back into `||delta|| <= advMaxNorm` (L2: rescale, Linf: clip). Padding is zero.
 */
export function freelbStep(
  delta: tf.Tensor3D,
  grad: tf.Tensor3D,
  mask: tf.Tensor3D,
  o: { advLr: number; advMaxNorm: number; norm: PerturbNorm },
): tf.Tensor3D {
  return tf.tidy(() => {
    const g = tf.mul(grad, mask) as tf.Tensor3D;
    const next = tf.mul(tf.add(delta, tf.mul(tf.div(g, tf.maximum(perExampleNorm(g, o.norm), 1e-8)), o.advLr)), mask) as tf.Tensor3D;
    return o.advMaxNorm > 0 ? projectPerturbation(next, mask, o.advMaxNorm, o.norm) : next;
  });
}

/**
 * Symmetric KL, KL(P||Q) + KL(Q||P), between the output distributions of two logit matrices `[B, L]`, mean over the
 * batch: softmax distributions, or (multi-label) independent Bernoullis per label, summed over the labels. Both
 * reduce to `sum (p - q) * (log-odds / log-prob difference)`, which is exactly symmetric and 0 when equal.
 */
export function symmetricKl(a: tf.Tensor2D, b: tf.Tensor2D, multiLabel: boolean): tf.Scalar {
  return tf.tidy(() => {
    if (multiLabel) return tf.mean(tf.sum(tf.mul(tf.sub(tf.sigmoid(a), tf.sigmoid(b)), tf.sub(a, b)), 1)) as tf.Scalar;
    const la = tf.logSoftmax(a, 1);
    const lb = tf.logSoftmax(b, 1);
    return tf.mean(tf.sum(tf.mul(tf.sub(tf.exp(la), tf.exp(lb)), tf.sub(la, lb)), 1)) as tf.Scalar;
  });
}

/** What an extra-gradient hook returns while it is not active yet: nothing to add. */
function inactive(): StepGradients {
  return { loss: tf.scalar(0), grads: {} };
}

/** `objective(logits at embeds + delta)` and its gradients w.r.t. the parameters (by HF name) and `delta`. */
function gradsAt(ctx: TextStepContext, delta: tf.Tensor3D, objective?: (logits: tf.Tensor2D) => tf.Scalar): StepGradients & { deltaGrad: tf.Tensor3D } {
  const at = gradientsAtOffset(ctx, delta, objective);
  return { loss: at.loss, grads: at.grads, deltaGrad: at.offsetGrad };
}

/** Gradient of the training loss w.r.t. `delta` only (the parameters' gradients are not computed). */
function deltaGradAt(
  ctx: TextStepContext,
  embeds: tf.Tensor3D,
  delta: tf.Tensor3D,
  objective: (logits: tf.Tensor2D) => tf.Scalar = ctx.lossOf,
): tf.Tensor3D {
  const forward = { training: true, seed: ctx.seed };
  const f = (d: tf.Tensor) => objective(ctx.model.forwardFromEmbeddings(tf.add(embeds, d) as tf.Tensor3D, ctx.batch, forward));
  return tf.tidy(() => tf.grad(f)(delta) as tf.Tensor3D);
}

/** The shape `[B, T, E]` of the batch's inputs_embeds. */
function embedsShape(ctx: TextStepContext): [number, number, number] {
  const e = ctx.model.embed(ctx.batch.inputIds);
  const shape = e.shape;
  e.dispose();
  return shape;
}

function addGrads(a: Record<string, tf.Tensor>, b: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  const out = { ...a };
  for (const [k, g] of Object.entries(b)) out[k] = out[k] ? tf.add(out[k], g) : g;
  return out;
}


// ---------------------------------------------------------------------------------------------------------------------
// Defaults that depend on the model: published (fine-tuning) values for pretrained embeddings; for a model trained from
// scratch, radii relative to the embedding scale and a clean first epoch.

/**
 * Mean L2 norm of the word embeddings of the tokens of (up to `maxExamples` of) `data` (special tokens included,
 * weighted by occurrence): the scale a perturbation of the embeddings is measured against.
 */
export function meanTokenEmbeddingNorm(model: TextModel, data: EncodedTextSet, maxExamples = 512): number {
  const ids = data.encodings.slice(0, maxExamples).flatMap((e) => Array.from(e.ids));
  if (!ids.length) return 1;
  return tf.tidy(() => {
    const e = model.embed(tf.tensor2d(Int32Array.from(ids), [1, ids.length], 'int32'));
    return tf.mean(tf.sqrt(tf.sum(tf.square(e), 2))).dataSync()[0];
  });
}

/** Mean L2 norm per real token of the batch's word embeddings (the fallback scale when the trainer did not prepare). */
function batchTokenNorm(ctx: TextStepContext): number {
  return tf.tidy(() => {
    const mask = tf.squeeze(tokenMask(ctx.batch), [2]);
    const norms = tf.sqrt(tf.sum(tf.square(ctx.model.embed(ctx.batch.inputIds)), 2));
    return tf.divNoNan(tf.sum(tf.mul(norms, mask)), tf.sum(mask)).dataSync()[0];
  });
}

/** What an embedding-space defense runs with once the model is known (see {@link embeddingSettings}). */
interface Settings {
  /** Multiplies every radius / step option: 1 (absolute), or the mean token-embedding norm (relative). */
  scale: number;
  relative: boolean;
  startEpoch: number;
  pretrained: boolean;
}

/**
 * The settings of a defense from its options and what the trainer knows: `pretrained` (undefined = not told: the
 * published defaults) picks the defaults of `relative` (from scratch: on) and `startEpoch` (from scratch: 2, one clean
 * epoch first; pretrained: 1). Relative radii are fractions of {@link meanTokenEmbeddingNorm}, measured on the weights
 * the model has when training starts (the same on resume, the model being rebuilt from the same seed).
 */
function embeddingSettings(o: { relative?: boolean; startEpoch?: number }, info: TextTrainStart | undefined): Settings {
  const pretrained = info?.pretrained ?? true;
  const relative = o.relative ?? !pretrained;
  const scale = relative && info ? meanTokenEmbeddingNorm(info.model, info.data) : 1;
  return { scale, relative, startEpoch: o.startEpoch ?? (pretrained ? 1 : 2), pretrained };
}

/**
 * The state a defense keeps about its settings: prepared by the trainer before the first epoch (`prepare`), or on the
 * first step when a hook is called directly (published defaults unless `relative: true`, measured on that batch).
 */
function settingsOf(o: { relative?: boolean; startEpoch?: number }) {
  let s: Settings | undefined;
  return {
    prepare(info: TextTrainStart): Settings {
      s = embeddingSettings(o, info);
      return s;
    },
    get(ctx: TextStepContext): Settings {
      if (!s) {
        s = embeddingSettings(o, undefined);
        if (s.relative) s.scale = batchTokenNorm(ctx);
      }
      return s;
    },
  };
}

const round = (x: number) => Number(x.toPrecision(6));

/** The `effective` record of a prepared defense: what it runs with (in hyperparameters and the collapse guard's line). */
function effective(s: Settings, radii: Record<string, number>): Record<string, unknown> {
  return {
    pretrained: s.pretrained,
    relative: s.relative,
    ...(s.relative ? { embeddingNorm: round(s.scale) } : {}),
    ...Object.fromEntries(Object.entries(radii).map(([k, v]) => [k, round(v * s.scale)])),
    startEpoch: s.startEpoch,
  };
}

/** FGM's / PGD-embed's eps from scratch, as a fraction of the mean token-embedding norm (pretrained: 1, absolute). */
export const SCRATCH_EPS = 0.1;

const relativeOption = z
  .boolean()
  .optional()
  .describe('radii (eps, step sizes) are fractions of the mean token-embedding L2 norm, measured when training starts (default: true from scratch, false for pretrained models)');
const startEpochOption = z
  .number()
  .int()
  .positive()
  .optional()
  .describe('first epoch the method runs; before it, plain training (default: 2 from scratch, i.e. one clean epoch first; 1 for pretrained models)');

const norm = z.enum(['l2', 'linf']);

export const fgmOptionsSchema = z
  .object({
    eps: z
      .number()
      .nonnegative()
      .optional()
      .describe(`L2 norm of the perturbation per example (default: 1 for pretrained models, the usual BERT value; ${SCRATCH_EPS} x the mean token-embedding norm from scratch)`),
    relative: relativeOption,
    startEpoch: startEpochOption,
  })
  .strict();
export type FgmOptions = z.input<typeof fgmOptionsSchema>;

/**
 * FGM on the embeddings: r = eps * g / ||g||_2 per example (g = gradient of the clean loss w.r.t. inputs_embeds, taken
 * from the clean step when the trainer supplies it), and adds the loss and gradients at embeds + r.
 */
export const fgm = defineDefense({
  name: 'parry/fgm',
  modality: 'text',
  summary: 'FGM (Miyato et al. 2017): adds the loss at embeddings + eps * g/||g||_2 per example',
  options: fgmOptionsSchema,
  create: (o) => {
    const st = settingsOf(o);
    const eps = (s: Settings) => o.eps ?? (s.relative ? SCRATCH_EPS : 1);
    return {
      needsEmbedsGrad: true,
      prepare: (info: TextTrainStart) => {
        const s = st.prepare(info);
        return effective(s, { eps: eps(s) });
      },
      extraGradients(ctx, clean) {
        const s = st.get(ctx);
        if (ctx.epoch < s.startEpoch) return inactive();
        const mask = tokenMask(ctx.batch);
        let g = clean.embedsGrad;
        if (!g) {
          const embeds = ctx.model.embed(ctx.batch.inputIds);
          g = deltaGradAt(ctx, embeds, tf.zerosLike(embeds));
        }
        const at = gradsAt(ctx, fgmPerturbation(g, mask, eps(s) * s.scale));
        return { loss: at.loss, grads: at.grads };
      },
    };
  },
});

export const pgdEmbedOptionsSchema = z
  .object({
    eps: z
      .number()
      .nonnegative()
      .optional()
      .describe(`radius of the ball per example (default: 1 for pretrained models; ${SCRATCH_EPS} x the mean token-embedding norm from scratch)`),
    alpha: z.number().positive().optional().describe(`ascent step size (default: 0.3 for pretrained models; ${0.3 * SCRATCH_EPS} x the mean token-embedding norm from scratch)`),
    steps: z.number().int().positive().default(3).describe('ascent steps K'),
    norm: norm.default('l2').describe('l2 or linf ball'),
    init: z.enum(['zero', 'random']).default('zero').describe('start at 0 or uniformly in the ball'),
    relative: relativeOption,
    startEpoch: startEpochOption,
  })
  .strict();
export type PgdEmbedOptions = z.input<typeof pgdEmbedOptionsSchema>;

/**
 * PGD-K on the embeddings (Madry-style): K ascent steps of size alpha (normalised gradient for L2, sign for Linf)
 * inside the eps-ball per example, from zero or a uniform random start; adds the loss and gradients at the last point.
 */
export const pgdEmbed = defineDefense({
  name: 'parry/pgd-embed',
  modality: 'text',
  summary: 'PGD-K on the embeddings: adds the loss at K ascent steps inside an L2/Linf ball',
  options: pgdEmbedOptionsSchema,
  create: (o) => {
    const st = settingsOf(o);
    const radii = (s: Settings) => ({ eps: o.eps ?? (s.relative ? SCRATCH_EPS : 1), alpha: o.alpha ?? (s.relative ? 0.3 * SCRATCH_EPS : 0.3) });
    return {
      needsEmbedsGrad: o.init === 'zero',
      prepare: (info: TextTrainStart) => {
        const s = st.prepare(info);
        return effective(s, radii(s));
      },
      extraGradients(ctx, clean) {
        const s = st.get(ctx);
        if (ctx.epoch < s.startEpoch) return inactive();
        const r = radii(s);
        const step = { eps: r.eps * s.scale, alpha: r.alpha * s.scale, norm: o.norm };
        const mask = tokenMask(ctx.batch);
        const embeds = ctx.model.embed(ctx.batch.inputIds);
        let delta = o.init === 'random' ? randomInBall(embeds.shape, mask, step.eps, o.norm, ctx.rng.tfSeed()) : tf.zerosLike(embeds);
        for (let k = 0; k < o.steps; k++) {
          const g = k === 0 && o.init === 'zero' && clean.embedsGrad ? clean.embedsGrad : deltaGradAt(ctx, embeds, delta);
          delta = pgdStep(delta, g, mask, step);
        }
        const at = gradsAt(ctx, delta);
        return { loss: at.loss, grads: at.grads };
      },
    };
  },
});

export const freelbOptionsSchema = z
  .object({
    advK: z.number().int().positive().default(3).describe('ascent steps K (the loss is averaged over K points)'),
    advLr: z.number().nonnegative().default(0.1).describe('ascent step size'),
    advInitMag: z.number().nonnegative().default(0.1).describe('initial perturbation magnitude (0 = start at 0)'),
    advMaxNorm: z.number().nonnegative().default(0).describe('radius of the ball (0 = unbounded)'),
    norm: norm.default('l2').describe('l2 or linf'),
    relative: relativeOption,
    startEpoch: startEpochOption,
  })
  .strict();
export type FreelbOptions = z.input<typeof freelbOptionsSchema>;

/**
 * FreeLB: replaces the step. From delta_0 ({@link freelbInit}), for t = 1..K accumulates the parameter gradients of
 * loss(embeds + delta_{t-1}) / K and ascends delta ({@link freelbStep}); the step's loss is the mean over the K points.
 * Defaults follow the released GLUE settings (advLr 0.1, init 0.1, K 3, no bound).
 */
export const freelb = defineDefense({
  name: 'parry/freelb',
  modality: 'text',
  summary: 'FreeLB (Zhu et al. 2020): K ascent steps on the embeddings, gradients accumulated over them',
  options: freelbOptionsSchema,
  create: (o) => {
    const st = settingsOf(o);
    return {
      prepare: (info: TextTrainStart) => effective(st.prepare(info), { advLr: o.advLr, advInitMag: o.advInitMag, advMaxNorm: o.advMaxNorm }),
      gradients(ctx) {
        const s = st.get(ctx);
        if (ctx.epoch < s.startEpoch) return cleanGradients(ctx);
        const step = { advLr: o.advLr * s.scale, advMaxNorm: o.advMaxNorm * s.scale, norm: o.norm };
        const mask = tokenMask(ctx.batch);
        const shape = embedsShape(ctx);
        let delta = freelbInit(shape, mask, o.advInitMag * s.scale, o.norm, ctx.rng.tfSeed());
        const scaled = (logits: tf.Tensor2D) => tf.div(ctx.lossOf(logits), o.advK) as tf.Scalar;
        let grads: Record<string, tf.Tensor> = {};
        let loss: tf.Scalar = tf.scalar(0);
        for (let t = 1; t <= o.advK; t++) {
          const at = gradsAt(ctx, delta, scaled);
          grads = addGrads(grads, at.grads);
          loss = tf.add(loss, at.loss);
          if (t < o.advK) delta = freelbStep(delta, at.deltaGrad, mask, step);
        }
        return { loss, grads };
      },
    };
  },
});

export const smartOptionsSchema = z
  .object({
    lambdaS: z.number().nonnegative().default(1).describe('weight of the smoothness term (paper: 1, 3 or 5)'),
    eps: z.number().nonnegative().default(1e-5).describe('radius of the perturbation ball'),
    stepSize: z.number().nonnegative().default(1e-3).describe('ascent step size eta on the normalised gradient'),
    noiseStd: z.number().nonnegative().default(1e-5).describe('std sigma of the Gaussian start'),
    steps: z.number().int().positive().default(1).describe('ascent steps'),
    norm: norm.default('linf').describe('norm of the gradient normalisation and the projection'),
    mu: z.number().nonnegative().default(1).describe('weight of the Bregman proximal term (0 = off)'),
    beta: z.number().min(0).max(1).default(0.99).describe('EMA momentum of the proximal copy during the first betaSwitch of training'),
    betaLate: z.number().min(0).max(1).default(0.999).describe('EMA momentum afterwards'),
    betaSwitch: z.number().min(0).max(1).default(0.1).describe('fraction of all steps using beta'),
    relative: relativeOption,
    startEpoch: startEpochOption,
  })
  .strict();
export type SmartOptions = z.input<typeof smartOptionsSchema>;

/**
 * SMART: adds lambdaS * symKL(f(x), f(x + delta)), delta from Gaussian noise and `steps` ascent steps on that KL
 * (gradient normalised per example, projected onto the eps-ball; f(x) held fixed during the ascent), plus
 * mu * symKL(f(x; theta), f(x; theta~)) with theta~ an EMA of the parameters, updated once per optimizer step (lazily,
 * at the start of the next step; initialised to the parameters at the first step, so the term starts at 0).
 * Defaults follow the paper (eps 1e-5, sigma 1e-5, eta 1e-3, Linf, mu 1, beta 0.99 then 0.999). Note that at eps 1e-5
 * the KL is near float32 resolution; robustness studies usually need a larger eps.
 */
export const smart = defineDefense({
  name: 'parry/smart',
  modality: 'text',
  summary: 'SMART (Jiang et al. 2020): smoothness-inducing symmetric KL plus a Bregman proximal term',
  options: smartOptionsSchema,
  create: (o) => {
    let ema: tf.Tensor[] | undefined;
    let emaModel: TextModel | undefined;
    let emaStep = -1;
    const updateEma = (ctx: TextStepContext) => {
      const vars = ctx.params.map((p) => p.variable);
      if (!ema || emaModel !== ctx.model || ema.length !== vars.length) {
        tf.dispose(ema ?? []);
        ema = vars.map((v) => tf.keep(tf.clone(v)));
        emaModel = ctx.model;
        emaStep = ctx.globalStep;
        return;
      }
      if (ctx.globalStep === emaStep) return;
      emaStep = ctx.globalStep;
      const beta = ctx.globalStep < o.betaSwitch * ctx.totalSteps ? o.beta : o.betaLate;
      const prev = ema;
      ema = prev.map((e, i) => tf.keep(tf.tidy(() => tf.add(tf.mul(e, beta), tf.mul(vars[i], 1 - beta)))));
      tf.dispose(prev);
    };
    const st = settingsOf(o);
    return {
      prepare: (info: TextTrainStart) => effective(st.prepare(info), { eps: o.eps, stepSize: o.stepSize, noiseStd: o.noiseStd }),
      extraGradients(ctx) {
        const { scale, startEpoch } = st.get(ctx);
        if (ctx.epoch < startEpoch) return inactive();
        const multi = isMulti(ctx.model);
        const vars = ctx.params.map((p) => p.variable);
        const forward = { training: true, seed: ctx.seed };
        if (o.mu > 0) updateEma(ctx);
        const mask = tokenMask(ctx.batch);
        const embeds = ctx.model.embed(ctx.batch.inputIds);
        const cleanLogits = ctx.model.forwardFromEmbeddings(embeds, ctx.batch, forward);
        let delta = tf.mul(tf.randomNormal(embeds.shape, 0, o.noiseStd * scale, 'float32', ctx.rng.tfSeed()), mask) as tf.Tensor3D;
        const kl = (logits: tf.Tensor2D) => symmetricKl(cleanLogits, logits, multi);
        for (let s = 0; s < o.steps; s++) {
          const g = deltaGradAt(ctx, embeds, delta, kl);
          delta = projectPerturbation(tf.add(delta, tf.mul(normalise(g, mask, o.norm), o.stepSize * scale)) as tf.Tensor3D, mask, o.eps * scale, o.norm);
        }
        let tilde: tf.Tensor2D | undefined;
        if (o.mu > 0) {
          // f(x; theta~): run the model with the EMA values, then restore (assign shares data, no copies).
          const saved = vars.map((v) => tf.clone(v));
          try {
            vars.forEach((v, i) => v.assign(ema![i]));
            tilde = ctx.model.logits(ctx.batch, forward);
          } finally {
            vars.forEach((v, i) => v.assign(saved[i]));
            tf.dispose(saved);
          }
        }
        const { value, grads } = tf.variableGrads(() => {
          const lc = ctx.model.logits(ctx.batch, forward);
          const la = ctx.model.forwardFromEmbeddings(tf.add(ctx.model.embed(ctx.batch.inputIds), delta) as tf.Tensor3D, ctx.batch, forward);
          let loss = tf.mul(symmetricKl(lc, la, multi), o.lambdaS) as tf.Scalar;
          if (tilde) loss = tf.add(loss, tf.mul(symmetricKl(lc, tilde, multi), o.mu));
          return loss;
        }, vars);
        const named: Record<string, tf.Tensor> = {};
        for (const p of ctx.params) if (grads[p.variable.name]) named[p.name] = grads[p.variable.name];
        return { loss: value, grads: named };
      },
      dispose() {
        tf.dispose(ema ?? []);
        ema = undefined;
        emaModel = undefined;
        emaStep = -1;
      },
    };
  },
});

export const rdropOptionsSchema = z
  .object({
    alpha: z.number().nonnegative().default(1).describe('weight of the consistency term alpha * symKL / 2'),
    startEpoch: startEpochOption,
  })
  .strict();
export type RdropOptions = z.input<typeof rdropOptionsSchema>;

/**
 * R-Drop: a second dropout pass (another seed); with the clean step, the loss becomes the mean of the two task losses
 * plus alpha * (KL(P1||P2) + KL(P2||P1)) / 2 (softmax, or per-label Bernoulli). The first pass reuses the step's
 * dropout seed, so it is the clean pass; the hook adds (L2 - L1) / 2 + the KL term. After a replacing method (FreeLB)
 * the (L2 - L1) / 2 part has zero mean over the dropout masks and the KL term is the regulariser.
 */
export const rdrop = defineDefense({
  name: 'parry/r-drop',
  modality: 'text',
  summary: 'R-Drop (Liang et al. 2021): symmetric KL between two dropout passes',
  options: rdropOptionsSchema,
  create: (o) => {
    const st = settingsOf({ ...o, relative: false });
    return {
      prepare: (info: TextTrainStart) => {
        const s = st.prepare(info);
        return { pretrained: s.pretrained, startEpoch: s.startEpoch };
      },
      extraGradients(ctx) {
        if (ctx.epoch < st.get(ctx).startEpoch) return inactive();
        const multi = isMulti(ctx.model);
        const vars = ctx.params.map((p) => p.variable);
        let seed2 = ctx.rng.tfSeed();
        if (seed2 === ctx.seed) seed2 = (seed2 + 1) >>> 0;
        const { value, grads } = tf.variableGrads(() => {
          const l1 = ctx.model.logits(ctx.batch, { training: true, seed: ctx.seed });
          const l2 = ctx.model.logits(ctx.batch, { training: true, seed: seed2 });
          const task = tf.mul(tf.sub(ctx.lossOf(l2), ctx.lossOf(l1)), 0.5);
          return tf.add(task, tf.mul(symmetricKl(l1, l2, multi), o.alpha / 2)) as tf.Scalar;
        }, vars);
        const named: Record<string, tf.Tensor> = {};
        for (const p of ctx.params) if (grads[p.variable.name]) named[p.name] = grads[p.variable.name];
        return { loss: value, grads: named };
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------------------------------

export const embeddingPgdOptionsSchema = z
  .object({
    eps: z.number().nonnegative().describe('radius of the ball per example'),
    alpha: z.number().positive().optional().describe('step size (default 2.5 * eps / steps)'),
    steps: z.number().int().positive().default(10).describe('ascent steps'),
    norm: norm.default('l2').describe('l2 or linf ball'),
    init: z.enum(['zero', 'random']).default('random').describe('start at 0 or uniformly in the ball'),
    seed: z.number().int().default(0).describe('seed of the random start'),
    batchSize: z.number().int().positive().default(32).describe('examples per batch'),
  })
  .strict();
export type EmbeddingPgdOptions = z.input<typeof embeddingPgdOptionsSchema>;

/** Result of {@link embeddingPgdAccuracy}. */
export interface EmbeddingPgdResult {
  /** Accuracy under attack (single-label), or subset accuracy at threshold 0.5 (multi-label). */
  accuracy: number;
  /** Micro-F1 at threshold 0.5 under attack (multi-label only). */
  microF1?: number;
}

/**
 * Accuracy under an embedding-space PGD attack that maximises the training loss (softmax CE against the label, or
 * BCE against the multi-hot targets) within an L2 or Linf ball of radius eps per example around the word embeddings
 * (padding untouched, no dropout). Scores the last iterate. eps 0 gives the clean metrics.
 */
export async function embeddingPgdAccuracy(
  model: TextModel,
  set: EncodedTextSet,
  padId: number,
  options: EmbeddingPgdOptions,
): Promise<EmbeddingPgdResult> {
  const o = parseOptions('embedding PGD', embeddingPgdOptionsSchema, options);
  const alpha = o.alpha ?? (2.5 * o.eps) / o.steps;
  const multi = isMulti(model);
  const L = model.numLabels;
  const n = set.encodings.length;
  if (set.labels.length !== (multi ? n * L : n)) {
    throw new UsageError(`the evaluation set has ${set.labels.length} label values for ${n} examples; expected ${multi ? n * L : n}`);
  }
  const rng = createRng(o.seed);
  const probs = new Float32Array(n * L);
  for (const idx of lengthSortedBatches(set.encodings.map((e) => e.ids.length), o.batchSize)) {
    const batch = padBatch(set.encodings, idx, padId, 8);
    const targets = multi
      ? tf.tensor2d(Float32Array.from({ length: idx.length * L }, (_, k) => set.labels[idx[Math.floor(k / L)] * L + (k % L)]), [idx.length, L])
      : tf.tensor1d(Int32Array.from(idx, (i) => set.labels[i]), 'int32');
    const seed = rng.tfSeed();
    const out = tf.tidy(() => {
      const mask = tokenMask(batch);
      const embeds = model.embed(batch.inputIds);
      const loss = (d: tf.Tensor) => textLoss(model.forwardFromEmbeddings(tf.add(embeds, d) as tf.Tensor3D, batch), targets, multi);
      let delta = o.init === 'random' && o.eps > 0 ? randomInBall(embeds.shape, mask, o.eps, o.norm, seed) : tf.zerosLike(embeds);
      if (o.eps > 0) {
        for (let k = 0; k < o.steps; k++) {
          const next = tf.tidy(() => pgdStep(delta, tf.grad(loss)(delta) as tf.Tensor3D, mask, { eps: o.eps, alpha, norm: o.norm }));
          delta.dispose();
          delta = next;
        }
      }
      const logits = model.forwardFromEmbeddings(tf.add(embeds, delta) as tf.Tensor3D, batch);
      return multi ? tf.sigmoid(logits) : tf.softmax(logits);
    });
    try {
      const values = await out.data();
      idx.forEach((i, r) => probs.set(values.subarray(r * L, (r + 1) * L), i * L));
    } finally {
      tf.dispose([out, targets]);
      disposeBatch(batch);
    }
  }
  if (multi) {
    const m = multiLabelMetrics(probs, set.labels, L, { thresholds: 0.5 });
    return { accuracy: m.subsetAccuracy, microF1: m.microF1 };
  }
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < L; j++) if (probs[i * L + j] > probs[i * L + best]) best = j;
    if (best === set.labels[i]) correct++;
  }
  return { accuracy: correct / n };
}
