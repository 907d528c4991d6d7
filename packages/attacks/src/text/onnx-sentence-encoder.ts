/**
 * ONNX sentence-embedding models as sentence encoders (the `sentence-encoder` text resource): a local folder with
 * `config.json`, `tokenizer.json`, `tokenizer_config.json` and `onnx/model.onnx` whose output is the encoder's
 * `last_hidden_state` — e.g. a sentence-transformers model exported with Optimum, or one of the `Xenova/*` /
 * `onnx-community/*` folders — run through transformers.js' `pipeline('feature-extraction')` with mean pooling over
 * the attention mask and L2 normalisation (`{ pooling: 'mean', normalize: true }`), as sentence-transformers'
 * default `Pooling(mean)` + `Normalize`. Files are read from the folder only (`local_files_only`: nothing is
 * downloaded); transformers.js is the same optional peer dependency as the black-box victims, imported on first use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, type SentenceEncoder, UsageError } from '@parry/core';
import { importTransformers } from './blackbox.js';

/** Options of {@link transformersJsSentenceEncoder}. */
export interface TransformersJsSentenceEncoderOptions {
  /** Texts per model call (default 32); texts are grouped by length so little padding is computed. */
  batchSize?: number;
  /** Name for reports (default: the folder, `onnx, mean-pooled`). */
  name?: string;
}

/** A sentence encoder that owns an ONNX session; `dispose` releases it. */
export interface TransformersJsSentenceEncoder extends SentenceEncoder {
  /** The folder it was loaded from (absolute). */
  readonly dir: string;
  dispose(): Promise<void>;
}

/** What this module uses of a transformers.js feature-extraction pipeline (structural). */
interface HfFeatureTensor {
  readonly dims: number[];
  readonly data: ArrayLike<number>;
  dispose?(): void;
}
interface HfExtractor {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<HfFeatureTensor>;
  dispose(): Promise<unknown>;
}
interface HfPipelineModule {
  pipeline(task: 'feature-extraction', model: string, options: Record<string, unknown>): Promise<HfExtractor>;
}

const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json', path.join('onnx', 'model.onnx')];

/** Whether `dir` looks like an ONNX model folder (has `onnx/model.onnx`). */
export function isOnnxModelFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'onnx', 'model.onnx'));
}

/**
 * Load an ONNX sentence-embedding folder (see the file header) as a {@link SentenceEncoder}: `embed` returns one
 * L2-normalised, mean-pooled embedding per text, in order.
 *
 * @throws InputError when the folder or one of its files is missing, or transformers.js cannot load it.
 * @throws UsageError for bad options, or when `@huggingface/transformers` is not installed.
 */
export async function transformersJsSentenceEncoder(dir: string, options: TransformersJsSentenceEncoderOptions = {}): Promise<TransformersJsSentenceEncoder> {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`sentence encoder batchSize must be a positive integer, got ${batchSize}`);
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new InputError(`sentence encoder folder ${root} not found; give a local folder with config.json, tokenizer.json and onnx/model.onnx`);
  }
  for (const f of REQUIRED) {
    if (!fs.existsSync(path.join(root, f))) throw new InputError(`${path.join(root, f)} not found; an ONNX sentence encoder folder needs ${REQUIRED.join(', ')}`);
  }
  const hf = (await importTransformers('ONNX sentence encoders')) as unknown as HfPipelineModule;
  let extractor: HfExtractor;
  try {
    extractor = await hf.pipeline('feature-extraction', root, { local_files_only: true, dtype: 'fp32', device: 'cpu' });
  } catch (e) {
    throw new InputError(`${root} could not be loaded as a feature-extraction model (${(e as Error).message.split('\n')[0]}); is onnx/model.onnx an encoder with a last_hidden_state output?`);
  }
  const name = options.name ?? `${root} (onnx, mean-pooled)`;
  let disposed = false;
  return {
    name,
    dir: root,
    async embed(texts) {
      if (disposed) throw new UsageError(`sentence encoder ${name} was disposed; load it again`);
      texts.forEach((t, i) => {
        if (typeof t !== 'string') throw new UsageError(`sentence encoder: text ${i} is ${typeof t}, expected a string`);
      });
      const out: Float32Array[] = new Array(texts.length);
      // by length (characters, a proxy for tokens), so a batch pads little
      const order = texts.map((_, i) => i).sort((a, b) => texts[a].length - texts[b].length || a - b);
      for (let start = 0; start < order.length; start += batchSize) {
        const idx = order.slice(start, start + batchSize);
        const t = await extractor(
          idx.map((i) => texts[i]),
          { pooling: 'mean', normalize: true },
        );
        try {
          if (t.dims.length !== 2 || t.dims[0] !== idx.length) throw new InputError(`${root}: the pooled features have shape [${t.dims.join(', ')}], expected [${idx.length}, dim]`);
          const dim = t.dims[1];
          idx.forEach((i, r) => (out[i] = Float32Array.from({ length: dim }, (_, d) => Number(t.data[r * dim + d]))));
        } finally {
          t.dispose?.();
        }
      }
      return out;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await extractor.dispose();
    },
  };
}
