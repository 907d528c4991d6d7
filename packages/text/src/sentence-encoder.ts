/**
 * Sentence encoders from Transformer encoders (the `sentence-encoder` text resource, `SentenceEncoder` in
 * `@parry/core`): a text's embedding is the mean of the encoder's last hidden states over its real tokens (the
 * attention mask leaves padding out), L2-normalised — sentence-transformers' default `Pooling(mean)` + `Normalize`,
 * so a sentence-transformers folder with safetensors weights (e.g. all-MiniLM-L6-v2) embeds as it does in Python.
 * Any Parry or Hugging Face encoder folder `loadPretrained` reads works (a classifier's head is ignored); ONNX-only
 * folders go through transformers.js instead (`transformersJsSentenceEncoder` in `@parry/attacks`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, type SentenceEncoder, type TextTokenizer, UsageError } from '@parry/core';
import { disposeBatch, lengthSortedBatches, padBatch } from './batching.js';
import { usablePositions } from './config.js';
import type { TransformerClassifier } from './encoder.js';
import { type LoadPretrainedOptions, loadPretrained } from './pretrained.js';

/** Options of {@link pooledSentenceEncoder} and {@link loadSentenceEncoder}. */
export interface PooledSentenceEncoderOptions {
  /** Texts per forward pass (default 32); texts are grouped by length so little padding is computed. */
  batchSize?: number;
  /** Tokens per text at most, special tokens included (default: the encoder's positions, at most 512). */
  maxLength?: number;
  /** L2-normalise each embedding (default true; cosines do not depend on it). */
  normalize?: boolean;
  /** Name for reports (default: the folder, `mean-pooled`). */
  name?: string;
}

/** A sentence encoder that owns its model; `dispose` releases the weights. */
export interface LoadedSentenceEncoder extends SentenceEncoder {
  /** Width of the embeddings (the encoder's hidden size). */
  readonly dim: number;
  dispose(): void;
}

/**
 * Mean-pooled sentence embeddings of `model`'s last hidden states (see the file header). The caller keeps owning
 * `model`; `embed` allocates no tensor that outlives the call.
 */
export function pooledSentenceEncoder(
  model: Pick<TransformerClassifier, 'hiddenStates' | 'config'>,
  tokenizer: TextTokenizer,
  options: PooledSentenceEncoderOptions = {},
): SentenceEncoder & { readonly dim: number } {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`sentence encoder batchSize must be a positive integer, got ${batchSize}`);
  const c = model.config;
  const limit = usablePositions(c);
  const maxLength = options.maxLength ?? Math.min(limit, 512);
  if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > limit) {
    throw new UsageError(`sentence encoder maxLength must be an integer from 2 to the encoder's ${limit} positions, got ${maxLength}`);
  }
  const normalize = options.normalize ?? true;
  const H = c.hiddenSize;
  return {
    name: options.name ?? `${c.family} encoder, mean-pooled`,
    dim: H,
    async embed(texts) {
      const encodings = texts.map((t, i) => {
        if (typeof t !== 'string') throw new UsageError(`sentence encoder: text ${i} is ${typeof t}, expected a string`);
        return tokenizer.encode(t, { maxLength });
      });
      const out: Float32Array[] = new Array(texts.length);
      for (const idx of lengthSortedBatches(encodings.map((e) => e.ids.length), batchSize)) {
        const batch = padBatch(encodings, idx, tokenizer.padId, 8);
        let pooled: tf.Tensor2D;
        try {
          pooled = tf.tidy(() => {
            const h = model.hiddenStates(batch);
            const mask = tf.expandDims(tf.cast(batch.attentionMask, 'float32'), 2);
            const mean = tf.div(tf.sum(tf.mul(h, mask), 1), tf.maximum(tf.sum(mask, 1), 1e-9));
            if (!normalize) return mean as tf.Tensor2D;
            return tf.div(mean, tf.maximum(tf.norm(mean, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
          });
        } finally {
          disposeBatch(batch);
        }
        const values = (await pooled.data()) as Float32Array;
        pooled.dispose();
        idx.forEach((i, r) => (out[i] = values.slice(r * H, (r + 1) * H)));
      }
      return out;
    },
  };
}

/**
 * Load a Parry or Hugging Face encoder folder (or Hub id) with `loadPretrained` as a mean-pooled sentence encoder
 * (see the file header); its tokenizer files are required. A classifier's head, or its absence (a base or
 * sentence-transformers checkpoint), does not matter: only the hidden states are read.
 *
 * @throws InputError when the folder, its weights or its tokenizer are missing or unreadable (an ONNX-only folder is
 *   named as such).
 */
export async function loadSentenceEncoder(
  source: string,
  options: PooledSentenceEncoderOptions & Pick<LoadPretrainedOptions, 'offline' | 'cacheDir'> = {},
): Promise<LoadedSentenceEncoder> {
  const local = path.resolve(source);
  if (fs.existsSync(local) && fs.statSync(local).isDirectory() && !fs.existsSync(path.join(local, 'model.safetensors')) && fs.existsSync(path.join(local, 'onnx', 'model.onnx'))) {
    throw new InputError(`${local} holds an ONNX model (onnx/model.onnx) and no model.safetensors; load it with transformersJsSentenceEncoder (@parry/attacks), which --sentence-encoder does`);
  }
  const { model, tokenizer, dir } = await loadPretrained(source, { offline: options.offline, cacheDir: options.cacheDir, newHead: true });
  if (!tokenizer) {
    model.dispose();
    throw new InputError(`${dir} has no tokenizer files (tokenizer.json or vocab.txt); a sentence encoder folder needs its tokenizer`);
  }
  let enc: SentenceEncoder & { readonly dim: number };
  try {
    enc = pooledSentenceEncoder(model, tokenizer, { ...options, name: options.name ?? `${dir} (${model.family}, mean-pooled)` });
  } catch (e) {
    model.dispose();
    throw e;
  }
  let disposed = false;
  return {
    name: enc.name,
    dim: enc.dim,
    embed(texts) {
      if (disposed) return Promise.reject(new UsageError(`sentence encoder ${enc.name} was disposed; load it again`));
      return enc.embed(texts);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
