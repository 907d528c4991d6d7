/**
 * BERT-family sequence classifiers (BERT, ELECTRA, DistilBERT, RoBERTa) in TensorFlow.js, with the parameter names
 * and tensor layouts of Hugging Face's `*ForSequenceClassification` checkpoints.
 *
 * All four share one post-LayerNorm encoder; they differ in embeddings (token types, RoBERTa's position ids,
 * ELECTRA's projection), names, and the classification head. Linear weights are kept as `[in, out]` variables so
 * every dense layer is a plain matMul (transposed matMuls are slow on wasm); `stateDict` / `loadStateDict`
 * convert to and from torch's `[out, in]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EncoderConfig } from './config.js';
import { activation, type Dense, type Drop, dropper, EncoderBody, encoderParameterShapes, type ForwardOptions, linear } from './encoder-body.js';
import type { HostTensor, ModelFamily, OutputKind, TextBatch } from '@parry/core';

export { firstNonFinite, type ForwardOptions } from './encoder-body.js';

/** A Transformer encoder with a sequence-classification head. */
export interface TransformerClassifier {
  readonly config: EncoderConfig;
  readonly family: ModelFamily;
  readonly numLabels: number;
  readonly labelNames: string[];
  readonly outputKind: OutputKind;
  /** Trainable variables in a fixed order, with their HF parameter names. */
  parameters(): Array<{ name: string; variable: tf.Variable }>;
  /** Every weight by HF name in Parry's layout (Linear weights `[in, out]`, `linear: true`), fixed tables included. */
  weights(): Array<{ name: string; variable: tf.Variable; linear: boolean }>;
  /** Word-embedding lookup only: int32 [B,T] -> [B,T,E] (the `inputs_embeds` of HF). */
  embed(inputIds: tf.Tensor2D): tf.Tensor3D;
  /** Rest of the model from `inputs_embeds` (adds position/type embeddings, LayerNorm, dropout, layers, head) -> logits [B, numLabels]. */
  forwardFromEmbeddings(inputsEmbeds: tf.Tensor3D, batch: TextBatch, options?: ForwardOptions): tf.Tensor2D;
  logits(batch: TextBatch, options?: ForwardOptions): tf.Tensor2D;
  /**
   * The last encoder layer's hidden states `[B, T, H]` for every token (no head, no pooler): what a sentence encoder
   * pools and a language-model head reads. Padded positions hold values too; mask them with `batch.attentionMask`.
   */
  hiddenStates(batch: TextBatch, options?: ForwardOptions): tf.Tensor3D;
  /**
   * Per-layer activation recomputation when gradients are taken (default false; `trainText` turns it on when a step
   * would not fit otherwise): each layer keeps only its input for the backward pass and runs again there. Same
   * gradients, about one more forward pass of time, one layer's activation memory instead of all layers'.
   */
  recompute: boolean;
  /** The word-embedding matrix [V, E] (for HotFlip-style attacks). */
  wordEmbeddings(): tf.Variable;
  /** float32 host copies with HF names and HF (torch) layouts, e.g. Linear weights [out, in]. */
  stateDict(): Record<string, HostTensor>;
  /**
   * Load HF-named tensors (F32 data; transposes Linear weights). Missing or unexpected keys, shape mismatches, or a
   * NaN/infinite value (naming the tensor) -> InputError listing them (ignore buffers like `*.position_ids`; accept
   * legacy `LayerNorm.gamma/beta` names).
   */
  loadStateDict(tensors: Record<string, HostTensor>, options?: { strict?: boolean; source?: string }): void;
  dispose(): void;
}

/**
 * Builds a classifier with freshly initialised weights as Hugging Face does: normal(0, initializer_range) for Linear
 * and Embedding weights (padding row zeroed), zero biases, LayerNorm weight 1 / bias 0; DistilBERT's sinusoidal
 * position table when `sinusoidalPosEmbds` (then not trainable).
 *
 * @param options.seed seed of the initial weights (default 0).
 */
export function createTransformerClassifier(config: EncoderConfig, options: { seed?: number } = {}): TransformerClassifier {
  return new Classifier(config, options.seed ?? 0);
}

/**
 * The trainable parameters a config gives, by HF name, with their HF (torch) shapes (Linear weights `[out, in]`), in
 * the order of {@link TransformerClassifier.parameters}; computed without allocating anything, so a checkpoint's
 * header can be checked against a config before a model is built.
 */
export function parameterShapes(c: EncoderConfig): Map<string, number[]> {
  const out = encoderParameterShapes(c, new Map());
  const H = c.hiddenSize;
  const dense = (name: string, inSize: number, outSize: number) => {
    out.set(`${name}.weight`, [outSize, inSize]);
    out.set(`${name}.bias`, [outSize]);
  };
  if (c.family === 'bert') {
    dense('bert.pooler.dense', H, H);
    dense('classifier', H, c.numLabels);
  } else if (c.family === 'distilbert') {
    dense('pre_classifier', H, H);
    dense('classifier', H, c.numLabels);
  } else {
    dense('classifier.dense', H, H);
    dense('classifier.out_proj', H, c.numLabels);
  }
  return out;
}

class Classifier extends EncoderBody implements TransformerClassifier {
  /** BERT pooler, ELECTRA/RoBERTa `classifier.dense`, DistilBERT `pre_classifier`. */
  private readonly headDense: Dense;
  private readonly headOut: Dense;

  constructor(config: EncoderConfig, seed: number) {
    super(config, seed, 'classifier');
    const c = config;
    const H = c.hiddenSize;
    if (c.family === 'bert') {
      this.headDense = this.dense('bert.pooler.dense', H, H);
      this.headOut = this.dense('classifier', H, c.numLabels);
    } else if (c.family === 'distilbert') {
      this.headDense = this.dense('pre_classifier', H, H);
      this.headOut = this.dense('classifier', H, c.numLabels);
    } else {
      this.headDense = this.dense('classifier.dense', H, H);
      this.headOut = this.dense('classifier.out_proj', H, c.numLabels);
    }
  }

  get numLabels(): number {
    return this.config.numLabels;
  }
  get labelNames(): string[] {
    return this.config.labelNames;
  }
  get outputKind(): OutputKind {
    return this.config.outputKind;
  }

  logits(batch: TextBatch, options: ForwardOptions = {}): tf.Tensor2D {
    return tf.tidy(() => this.forwardFromEmbeddings(this.embed(batch.inputIds), batch, options));
  }

  forwardFromEmbeddings(inputsEmbeds: tf.Tensor3D, batch: TextBatch, options: ForwardOptions = {}): tf.Tensor2D {
    this.alive();
    const drop = dropper(options);
    // The head reads the first token only, so the last layer computes its queries and FFN for that row only.
    return tf.tidy(() => this.head(this.encode(inputsEmbeds, batch, drop, true), drop) as tf.Tensor2D);
  }

  /** Classification head on the first token's hidden state `[B, H]`. */
  private head(first: tf.Tensor, drop: Drop): tf.Tensor {
    const p = this.config.classifierDropout;
    switch (this.family) {
      case 'bert':
        return linear(drop(tf.tanh(linear(first, this.headDense)), p), this.headOut);
      case 'distilbert':
        return linear(drop(tf.relu(linear(first, this.headDense)), p), this.headOut);
      case 'electra':
        return linear(drop(activation(linear(drop(first, p), this.headDense), 'gelu'), p), this.headOut);
      case 'roberta':
        return linear(drop(tf.tanh(linear(drop(first, p), this.headDense)), p), this.headOut);
    }
  }
}
