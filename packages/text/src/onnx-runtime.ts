/**
 * Forward-only inference of a Parry Transformer classifier on ONNX Runtime (`onnxruntime-node`, loaded on first use;
 * an optional dependency: where it is not installed the caller gets one line saying how to install it). The model is
 * exported in-process with {@link exportOnnx}; gradients and training stay in tfjs. Threads: ONNX Runtime's intra-op
 * pool, default all cores (`threads`).
 */
import type { Encoding, OutputKind } from '@parry/core';
import { UsageError } from '@parry/core';
import { lengthSortedBatches } from './batching.js';
import type { TransformerClassifier } from './encoder.js';
import { exportOnnx } from './onnx-export.js';

type Ort = typeof import('onnxruntime-node');
let ortPromise: Promise<Ort> | undefined;

/** `onnxruntime-node`, imported once; a UsageError naming the package when it is not installed. */
export async function loadOnnxRuntime(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then(
    (m) => ((m as { default?: Ort }).default ?? m) as Ort,
    (e: unknown) => {
      ortPromise = undefined;
      throw new UsageError(`ONNX Runtime is not available (${String((e as Error)?.message ?? e).split('\n')[0]}); install it with \`npm install onnxruntime-node\`, or run without --runtime onnx`);
    },
  );
  return ortPromise;
}

export interface OnnxClassifierOptions {
  /** Intra-op threads of ONNX Runtime (default: its own choice, all cores). */
  threads?: number;
  /** Execution providers in order of preference (default `['cpu']`; e.g. `['cuda', 'cpu']` where ONNX Runtime has CUDA). */
  executionProviders?: string[];
}

/** A classifier on ONNX Runtime with the scoring half of the tfjs model's interface. */
export interface OnnxClassifier {
  readonly numLabels: number;
  readonly outputKind: OutputKind;
  readonly labelNames: string[];
  /** Raw scores `[n * numLabels]` (before softmax/sigmoid) of padded batches, in input order. */
  logits(encodings: readonly Encoding[], padId: number, batchSize?: number): Promise<Float32Array>;
  /** Probabilities like `predictText`: softmax, or per-label sigmoid for multi-label models. */
  predict(encodings: readonly Encoding[], padId: number, batchSize?: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Export `model` (its current weights) and open an ONNX Runtime session on it. */
export async function onnxClassifier(model: TransformerClassifier, options: OnnxClassifierOptions = {}): Promise<OnnxClassifier> {
  const ort = await loadOnnxRuntime();
  const { bytes, inputs } = exportOnnx(model);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: options.executionProviders ?? ['cpu'],
    graphOptimizationLevel: 'all',
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
  });
  const L = model.config.numLabels;
  const multi = model.config.outputKind === 'multi-label';
  const logits = async (encodings: readonly Encoding[], padId: number, batchSize = 64): Promise<Float32Array> => {
    const out = new Float32Array(encodings.length * L);
    for (const idx of lengthSortedBatches(encodings.map((e) => e.ids.length), batchSize)) {
      const B = idx.length;
      const T = Math.max(1, ...idx.map((i) => encodings[i].ids.length));
      const ids = new BigInt64Array(B * T).fill(BigInt(padId));
      const mask = new BigInt64Array(B * T);
      const types = new BigInt64Array(B * T);
      idx.forEach((i, r) => {
        const e = encodings[i];
        for (let t = 0; t < e.ids.length; t++) {
          ids[r * T + t] = BigInt(e.ids[t]);
          mask[r * T + t] = 1n;
          types[r * T + t] = BigInt(e.typeIds[t] ?? 0);
        }
      });
      const feeds: Record<string, InstanceType<Ort['Tensor']>> = {
        input_ids: new ort.Tensor('int64', ids, [B, T]),
        attention_mask: new ort.Tensor('int64', mask, [B, T]),
      };
      if (inputs.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', types, [B, T]);
      const result = await session.run(feeds);
      const values = result.logits.data as Float32Array;
      idx.forEach((i, r) => out.set(values.subarray(r * L, (r + 1) * L), i * L));
      for (const t of Object.values(result)) t.dispose?.();
    }
    return out;
  };
  return {
    numLabels: L,
    outputKind: model.config.outputKind,
    labelNames: [...model.config.labelNames],
    logits,
    async predict(encodings, padId, batchSize) {
      const z = await logits(encodings, padId, batchSize);
      return multi ? z.map((v) => 1 / (1 + Math.exp(-v))) : softmaxRows(z, L);
    },
    async dispose() {
      await session.release();
    },
  };
}

function softmaxRows(z: Float32Array, L: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let r = 0; r < z.length / L; r++) {
    let mx = -Infinity;
    for (let j = 0; j < L; j++) mx = Math.max(mx, z[r * L + j]);
    let s = 0;
    for (let j = 0; j < L; j++) s += out[r * L + j] = Math.exp(z[r * L + j] - mx);
    for (let j = 0; j < L; j++) out[r * L + j] /= s;
  }
  return out;
}
