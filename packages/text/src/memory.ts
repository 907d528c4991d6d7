/**
 * Memory of one training step of a Transformer classifier, estimated from its config, the batch size and the padded
 * sequence length before anything is allocated, so that a run that cannot fit is refused with one line instead of an
 * opaque `RuntimeError: Aborted()` from the wasm heap minutes into the run.
 *
 * The activation terms are a least-squares fit of `tf.profile` peak bytes of one forward + backward pass
 * (`tf.variableGrads` of the classifier's cross-entropy, dropout on) measured on the wasm backend for BERT-style configs
 * (hidden 64-384, 1-4 layers, 2-8 heads, batch 4-32, 32-256 tokens) by `packages/text/bench/memory-probe.mjs`, which
 * prints measured next to estimated; the fit is within 8% on all but one of them (24% over: many heads, short
 * sequences). The cpu backend measured the same bytes. Terms, in float32 values:
 * - 3.61 x parameters (the gradients and the temporaries of the weight gradients),
 * - 191.3 x (layers - 1) x tokens x hidden (what every layer but the first keeps for the backward pass),
 * - 7.90 x layers x batch x heads x length^2 (attention scores, softmax, dropout),
 * - 49.8 x tokens x hidden (embeddings, the first layer and the head),
 * plus the weights, AdamW's two moments and the gradient-norm clipping's copy of the gradients (4 x parameters; 5 x
 * with gradient accumulation), all x 4 bytes.
 *
 * Checked at full size on wasm: a BERT-base pass at batch 1 x 128 peaks at 2.8 GiB with the weights (tf.profile); with
 * AdamW's moments and clipping a training step at batch 1 fails ("memory access out of bounds"), and with accumulation
 * ("Aborted()"); the estimate (3.96 GiB at batch 1) refuses both. BERT-base cannot be trained on the wasm backend's
 * 4 GiB heap; use the tensorflow (tfjs-node) backend.
 */
import * as os from 'node:os';
import { UsageError } from '@parry/core';
import { type ConfigSizes, countParameters } from './config.js';

/** The sizes the estimate reads. */
export type MemoryConfig = ConfigSizes;

export interface TrainingMemoryEstimate {
  /** Bytes held for the whole run: weights, AdamW's moments, the clipped gradients (and the accumulator). */
  stateBytes: number;
  /** Peak bytes of one forward + backward pass over a micro-batch. */
  stepBytes: number;
  /** stateBytes + stepBytes. */
  totalBytes: number;
  parameters: number;
}

/**
 * Estimated bytes of training `cfg` on micro-batches of `batchSize` sequences of `length` tokens (see the file header);
 * with `accumulate`, the gradient accumulator (one more copy of the parameters) is held beside the weights and moments.
 */
export function estimateTrainingMemory(cfg: MemoryConfig, batchSize: number, length: number, accumulate = false): TrainingMemoryEstimate {
  const P = countParameters(cfg);
  const tokens = batchSize * length;
  const H = cfg.hiddenSize;
  const L = cfg.numLayers;
  const floats = 3.61 * P + 191.3 * Math.max(0, L - 1) * tokens * H + 7.9 * L * batchSize * cfg.numHeads * length * length + 49.8 * tokens * H;
  // weights, AdamW's two moments, the clipped copy of the gradients (+ the accumulator)
  const stateBytes = (accumulate ? 5 : 4) * P * 4;
  const stepBytes = floats * 4;
  return { stateBytes, stepBytes, totalBytes: stateBytes + stepBytes, parameters: P };
}

/**
 * Memory a tfjs backend can give tensors: the wasm heap is 32-bit (4 GiB, of which the module itself takes ~160 MiB;
 * measured by allocating until it fails), other backends are bounded by the machine's memory (80% of it; GPU
 * backends are not estimated).
 */
export function backendMemoryLimit(backend: string): number | undefined {
  if (backend === 'wasm') return 4 * 2 ** 30 - 160 * 2 ** 20;
  if (backend === 'cpu' || backend === 'tensorflow') return 0.8 * os.totalmem();
  return undefined;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export interface TrainingMemoryCheck {
  /** Micro-batches per optimizer step the run asked for (1: none). */
  gradAccum?: number;
  /** Flag names for the message (default the CLI's). */
  flags?: { gradAccum: string; batchSize: string; maxLength: string };
}

/**
 * Refuse, with one line naming what to change, a training run whose estimated step memory exceeds what `backend`
 * can hold; returns the estimate otherwise (and for backends without a known limit).
 *
 * @param batchSize the optimizer batch; with `gradAccum` k each pass sees ceil(batchSize / k) sequences.
 * @param length the longest padded sequence (the token limit).
 */
export function checkTrainingMemory(cfg: MemoryConfig, batchSize: number, length: number, backend: string, o: TrainingMemoryCheck = {}): TrainingMemoryEstimate {
  const k = o.gradAccum ?? 1;
  const micro = Math.ceil(batchSize / k);
  const est = estimateTrainingMemory(cfg, micro, length, k > 1);
  const limit = backendMemoryLimit(backend);
  if (limit === undefined || est.totalBytes <= limit) return est;
  const flags = o.flags ?? { gradAccum: '--grad-accum', batchSize: '--batch-size', maxLength: '--max-length' };
  // the fewest micro-batches that fit
  let fits: number | undefined;
  for (let m = micro - 1; m >= 1; m--) {
    if (estimateTrainingMemory(cfg, m, length, true).totalBytes <= limit) {
      fits = Math.ceil(batchSize / m);
      break;
    }
  }
  const what = `training this ${cfg.family} model (${(est.parameters / 1e6).toFixed(1)}M parameters) on ${micro} x ${length} tokens per pass needs about ${gib(est.totalBytes)} (weights and AdamW${k > 1 ? ' and the gradient accumulator' : ''} ${gib(est.stateBytes)}, one pass ${gib(est.stepBytes)}), more than the ${backend} backend can hold (${gib(limit)})`;
  const single = estimateTrainingMemory(cfg, 1, length).totalBytes <= limit;
  const fix = fits
    ? `split each batch into micro-batches with ${flags.gradAccum} ${fits} (same optimizer step), or lower ${flags.batchSize} or ${flags.maxLength}`
    : single
      ? `only ${flags.batchSize} 1 without ${flags.gradAccum} fits (the accumulator is one more copy of the weights); or lower ${flags.maxLength}, use a smaller model${backend === 'wasm' ? ', or install @tensorflow/tfjs-node (--backend tensorflow)' : ''}`
      : backend === 'wasm'
      ? `even one sequence per pass does not fit: lower ${flags.maxLength}, use a smaller model, or install @tensorflow/tfjs-node (--backend tensorflow)`
      : `even one sequence per pass does not fit: lower ${flags.maxLength} or use a smaller model`;
  throw new UsageError(`${what}; ${fix}`);
}
