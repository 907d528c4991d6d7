/**
 * Memory of one training step of a Transformer classifier, estimated from its config, the batch size and the padded
 * sequence length before anything is allocated, so that a run that cannot fit is refused with one line instead of an
 * opaque `RuntimeError: Aborted()` from the wasm heap minutes into the run.
 *
 * The pass terms are least-squares fits of the peak bytes of one forward + backward pass (`tf.variableGrads` of the
 * classifier's cross-entropy, dropout on), counted per tensor buffer, measured on the wasm backend for 22 BERT-style
 * configs (hidden 64-384, 1-6 layers, 2-8 heads, batch 2-32, 32-256 tokens) by
 * `packages/text/bench/memory-probe.mjs`, which prints measured next to estimated and the fit; in float32 values:
 * - plain tape (within 4%): parameters (the gradients) + 123.2 x (layers - 1) x tokens x hidden + 9.91 x (layers - 1)
 *   x batch x heads x length^2 (what every layer but the last, which computes the first token only, keeps for the
 *   backward pass) + 34.0 x tokens x hidden + 23.7 x batch x heads x length (embeddings, last layer, head);
 * - with per-layer recomputation (`model.recompute`, within 10% when it recomputed every op): parameters + 1.62 x
 *   layers x tokens x hidden (each layer's input and its gradient) + 9 x layers x tokens x hidden (the dense layers'
 *   outputs, kept since recomputation replays them instead of running the matMuls again; counted) + one full layer's
 *   forward and backward, 108.5 x tokens x hidden + 10.5 x batch x heads x length^2 (when there are two layers or
 *   more) + 22.6 x tokens x hidden;
 * or, when larger, the optimizer update: the gradients and four temporaries of the largest weight (AdamW updates one
 * variable at a time; gradient clipping makes no copy, the optimizer scales one gradient at a time); plus what the
 * run holds throughout: the weights and AdamW's two moments (3 x parameters; 4 x with the gradient accumulator);
 * all x 4 bytes.
 *
 * Checked at full size on wasm, BERT-base at 1 x 128: the pass adds 1021 MiB measured (plain; estimate 1020 MiB) and
 * 435 MiB with recomputation (estimate 483 MiB; both before recomputation kept the dense outputs, which add 42 MiB
 * at 1 x 128, not re-measured at full size); an 8 x 128 step by accumulation (8 micro-batches of 1, or 4 of 2)
 * with recomputation fits the 4 GiB heap (`packages/text/bench/bert-base-step.mjs`). Before the wasm Identity and
 * Transpose polyfills of @parry/core shared buffers, the tape held a copy of every weight and a 1 x 128 pass took
 * 2.4 GiB: BERT-base could not train on wasm at all.
 */
import * as os from 'node:os';
import { UsageError } from '@parry/core';
import { type ConfigSizes, countParameters } from './config.js';

/** The sizes the estimate reads. */
export type MemoryConfig = ConfigSizes;

export interface TrainingMemoryEstimate {
  /** Bytes held for the whole run: weights and AdamW's moments (and the gradient accumulator). */
  stateBytes: number;
  /**
   * Peak bytes on top of the state: the larger of one forward + backward pass over a micro-batch (the gradients
   * included) and the optimizer update (the gradients, and a few temporaries of the largest weight).
   */
  stepBytes: number;
  /** Peak bytes of one forward + backward pass over a micro-batch (the gradients included). */
  passBytes: number;
  /** stateBytes + stepBytes. */
  totalBytes: number;
  parameters: number;
  /** Whether the pass was estimated with per-layer activation recomputation. */
  recompute: boolean;
}

/**
 * Estimated bytes of training `cfg` on micro-batches of `batchSize` sequences of `length` tokens (see the file header);
 * with `accumulate`, the gradient accumulator (one more copy of the parameters) is held beside the weights and moments;
 * with `recompute`, each layer's activations are recomputed in the backward pass (`model.recompute`).
 */
/**
 * Values per token per layer that recomputation keeps from the first run (the outputs of the dense layers: query,
 * key, value, attention output and the second feed-forward, hidden each; the first feed-forward, 4 x hidden as in
 * every preset), in hidden-sized units: counted, not fitted (the fit above predates keeping them).
 */
const KEPT = 9;

export function estimateTrainingMemory(cfg: MemoryConfig, batchSize: number, length: number, accumulate = false, recompute = false): TrainingMemoryEstimate {
  const P = countParameters(cfg);
  const tokens = batchSize * length;
  const H = cfg.hiddenSize;
  const L = cfg.numLayers;
  const scores = batchSize * cfg.numHeads * length * length;
  const floats = recompute
    ? P + (1.62 + KEPT) * L * tokens * H + (L > 1 ? 108.5 * tokens * H + 10.5 * scores : 0) + 22.6 * tokens * H
    : P + 123.2 * Math.max(0, L - 1) * tokens * H + 9.91 * Math.max(0, L - 1) * scores + 34.0 * tokens * H + 23.7 * batchSize * cfg.numHeads * length;
  // the update: the gradients (held in the accumulator's place when accumulating) and four temporaries of the
  // largest weight (the scaled gradient and the update's intermediates, measured)
  const largest = Math.max(cfg.vocabSize * cfg.embeddingSize, H * cfg.intermediateSize);
  const update = (accumulate ? 0 : P) + 4 * largest;
  // weights and AdamW's two moments (+ the accumulator)
  const stateBytes = (accumulate ? 4 : 3) * P * 4;
  const stepBytes = Math.max(floats, update) * 4;
  return { stateBytes, stepBytes, passBytes: floats * 4, totalBytes: stateBytes + stepBytes, parameters: P, recompute };
}

/**
 * The wasm heap grows past the peak of live tensor bytes: freed buffers leave holes the allocator cannot always
 * reuse for the next, differently sized one. Measured on BERT-base training steps (packages/text/bench/bert-base-step.mjs):
 * the heap's high-water mark was 1.30 x the live peak with recomputation and 1.45 x without; rounded up.
 */
export const WASM_HEAP_OVERHEAD = 1.5;

/**
 * Live tensor bytes a tfjs backend can hold: the wasm heap is 32-bit (4 GiB, of which the module itself takes
 * ~160 MiB; measured by allocating until it fails), divided by its measured fragmentation ({@link WASM_HEAP_OVERHEAD});
 * other backends are bounded by the machine's memory (80% of it; GPU backends are not estimated).
 */
export function backendMemoryLimit(backend: string): number | undefined {
  if (backend === 'wasm') return (4 * 2 ** 30 - 160 * 2 ** 20) / WASM_HEAP_OVERHEAD;
  if (backend === 'cpu' || backend === 'tensorflow') return 0.8 * os.totalmem();
  return undefined;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export interface TrainingMemoryCheck {
  /** Micro-batches per optimizer step the run asked for (1: none). */
  gradAccum?: number;
  /**
   * Per-layer activation recomputation: true forces it, false rules it out (a model without it), undefined lets
   * the check turn it on when the run fits only with it (the returned estimate says which).
   */
  recompute?: boolean;
  /** Flag names for the message (default the CLI's). */
  flags?: { gradAccum: string; batchSize: string; maxLength: string };
}

/**
 * Refuse, with one line naming what to change, a training run whose estimated step memory exceeds what `backend`
 * can hold; returns the estimate otherwise (and for backends without a known limit), with `recompute` true when the
 * run fits only with per-layer recomputation (and `o.recompute` left it open) or when it was forced.
 *
 * @param batchSize the optimizer batch; with `gradAccum` k each pass sees ceil(batchSize / k) sequences.
 * @param length the longest padded sequence (the token limit).
 */
export function checkTrainingMemory(cfg: MemoryConfig, batchSize: number, length: number, backend: string, o: TrainingMemoryCheck = {}): TrainingMemoryEstimate {
  const k = o.gradAccum ?? 1;
  const micro = Math.ceil(batchSize / k);
  const limit = backendMemoryLimit(backend);
  const modes = o.recompute === undefined ? [false, true] : [o.recompute];
  const fitting = (m: number, accumulate: boolean) => modes.map((r) => estimateTrainingMemory(cfg, m, length, accumulate, r)).find((e) => limit === undefined || e.totalBytes <= limit);
  const ok = fitting(micro, k > 1);
  if (ok) return ok;
  const est = estimateTrainingMemory(cfg, micro, length, k > 1, modes[modes.length - 1]);
  const flags = o.flags ?? { gradAccum: '--grad-accum', batchSize: '--batch-size', maxLength: '--max-length' };
  // the fewest micro-batches that fit
  let fits: number | undefined;
  for (let m = micro - 1; m >= 1; m--) {
    if (fitting(m, true)) {
      fits = Math.ceil(batchSize / m);
      break;
    }
  }
  const what = `training this ${cfg.family} model (${(est.parameters / 1e6).toFixed(1)}M parameters) on ${micro} x ${length} tokens per pass needs about ${gib(est.totalBytes)} (weights and AdamW${k > 1 ? ' and the gradient accumulator' : ''} ${gib(est.stateBytes)}, one pass ${gib(est.stepBytes)}${est.recompute ? ' with per-layer recomputation' : ''}), more than the ${backend} backend can hold (${gib(limit!)})`;
  const single = fitting(1, false) !== undefined;
  const fix = fits
    ? `split each batch into micro-batches with ${flags.gradAccum} ${fits} (same optimizer step), or lower ${flags.batchSize} or ${flags.maxLength}`
    : single
      ? `only ${flags.batchSize} 1 without ${flags.gradAccum} fits (the accumulator is one more copy of the weights); or lower ${flags.maxLength}, use a smaller model${backend === 'wasm' ? ', or install @tensorflow/tfjs-node (--backend tensorflow)' : ''}`
      : backend === 'wasm'
      ? `even one sequence per pass does not fit: lower ${flags.maxLength}, use a smaller model, or install @tensorflow/tfjs-node (--backend tensorflow)`
      : `even one sequence per pass does not fit: lower ${flags.maxLength} or use a smaller model`;
  throw new UsageError(`${what}; ${fix}`);
}
