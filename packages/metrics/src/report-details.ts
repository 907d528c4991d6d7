import * as tf from '@tensorflow/tfjs-core';
import type { AttackResult, Classifier } from '@parry/core';
import type { AttackSummary, EpsilonSummary } from './robustness.js';
import { perturbationSizes } from './robustness.js';
import type { ImageExample } from './results.js';

export interface ReportDetailsOptions {
  /** Image examples to keep per attack (default 8); 0 keeps none. */
  examples?: number;
  /** Keep per-example perturbation sizes for the report's distributions (default true). */
  sizes?: boolean;
}

export interface ReportDetails {
  perEpsilon: (EpsilonSummary & { sizes?: { linf: number[]; l2: number[] } })[];
  examples?: ImageExample[];
}

const round = (v: number) => Number(v.toPrecision(4));

/** Pixels of one example, scaled from `bounds` to 0..255, as base64. */
function encodePixels(values: ArrayLike<number>, bounds: readonly [number, number]): string {
  const [lo, hi] = bounds;
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round((255 * (values[i] - lo)) / (hi - lo))));
  return Buffer.from(bytes).toString('base64');
}

async function predictions(model: Classifier, x: tf.Tensor): Promise<number[]> {
  const p = tf.tidy(() => tf.argMax(model.logits(x), 1));
  const v = Array.from(await p.data());
  p.dispose();
  return v;
}

/**
 * What the report shows beyond the summary: per-example perturbation sizes of the successful adversarials (the
 * same examples as the `linf`/`l2` stats) and, for image inputs, the first `examples` held-out images with their
 * adversarials and predictions at every epsilon. Call before `disposeAttackResult`; spread the result into the summary:
 * `summaries.push({ ...summary, ...(await reportDetails(summary, model, x, y, cleanCorrect, result)) })`.
 */
export async function reportDetails(
  summary: AttackSummary,
  model: Classifier,
  x: tf.Tensor,
  labels: tf.Tensor1D,
  cleanCorrect: boolean[],
  result: AttackResult,
  options: ReportDetailsOptions = {},
): Promise<ReportDetails> {
  const keepSizes = options.sizes ?? true;
  const perEpsilon: ReportDetails['perEpsilon'] = [];
  for (let k = 0; k < summary.perEpsilon.length; k++) {
    const e = summary.perEpsilon[k];
    if (!keepSizes) {
      perEpsilon.push(e);
      continue;
    }
    const r = result.perEpsilon[k];
    const success = await r.success.data();
    const s = await perturbationSizes(x, r.adversarial);
    const linf: number[] = [];
    const l2: number[] = [];
    for (let i = 0; i < cleanCorrect.length; i++) {
      if (cleanCorrect[i] && success[i]) {
        linf.push(round(s.linf[i]));
        l2.push(round(s.l2[i]));
      }
    }
    perEpsilon.push({ ...e, sizes: { linf, l2 } });
  }
  const count = Math.min(options.examples ?? 8, x.shape[0]);
  const shape = x.shape.slice(1);
  const isImage = (shape.length === 3 && (shape[2] === 1 || shape[2] === 3)) || shape.length === 2;
  if (count <= 0 || !isImage) return { perEpsilon };
  const xs = tf.slice(x, 0, count);
  const ys = tf.slice(labels, 0, count);
  try {
    const [pixels, truth, clean] = await Promise.all([xs.data(), ys.data(), predictions(model, xs)]);
    const size = pixels.length / count;
    const examples: ImageExample[] = [];
    for (let i = 0; i < count; i++) {
      examples.push({ index: i, shape: shape as number[], label: truth[i], prediction: clean[i], original: encodePixels(pixels.subarray(i * size, (i + 1) * size), model.bounds), perEpsilon: [] });
    }
    for (const r of result.perEpsilon) {
      const adv = tf.slice(r.adversarial, 0, count);
      const ok = tf.slice(r.success, 0, count);
      const [advPixels, pred, success] = await Promise.all([adv.data(), predictions(model, adv), ok.data()]);
      tf.dispose([adv, ok]);
      for (let i = 0; i < count; i++) {
        examples[i].perEpsilon.push({
          epsilon: Number.isFinite(r.epsilon) ? r.epsilon : null,
          adversarial: encodePixels(advPixels.subarray(i * size, (i + 1) * size), model.bounds),
          prediction: pred[i],
          success: Boolean(success[i]),
        });
      }
    }
    return { perEpsilon, examples };
  } finally {
    tf.dispose([xs, ys]);
  }
}
