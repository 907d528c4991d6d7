/**
 * Shared types of Parry's Transformer text classifiers: the encoder families, a padded batch of token ids, tensors as
 * stored in checkpoints, tokenizers, and the model handle that attacks and adversarial training use.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { OutputKind } from './model.js';
import type { TruncationStrategy } from './truncation.js';

/** Encoder families Parry implements in tfjs (Hugging Face `model_type`). */
export type ModelFamily = 'bert' | 'electra' | 'distilbert' | 'roberta';


/** A padded batch: int32 `[B, T]` token ids, attention mask (1 = token, 0 = padding) and segment ids. */
export interface TextBatch {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  /** Segment ids (BERT/ELECTRA); zeros when absent. Ignored by DistilBERT and RoBERTa (type_vocab_size 1). */
  tokenTypeIds?: tf.Tensor2D;
}

/** Safetensors dtypes Parry reads; F32/F16/BF16 weights are widened to float32 on load. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** One tensor of a checkpoint, in host memory, by its Hugging Face parameter name. */
export interface HostTensor {
  /** dtype as stored in the file (the data is float32 for F32/F16/BF16 after reading). */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Float64Array;
}

/** Token ids of one text (or text pair) with special tokens, truncated but not padded. */
export interface Encoding {
  ids: number[];
  /** Segment id per token (0 for the first text, 1 for the second of a pair). */
  typeIds: number[];
}

/** A tokenizer as the trainer and attacks see it (implemented over transformers.js' tokenizer classes). */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  /** `[CLS]` / `<s>`. */
  readonly clsId: number;
  /** `[SEP]` / `</s>`. */
  readonly sepId: number;
  /** `[MASK]` / `<mask>` when the vocabulary has one. */
  readonly maskId?: number;
  /**
   * Encode with special tokens, truncating to `maxLength` tokens (special tokens included); `truncation` says which
   * tokens of an over-long text stay (default `head`: the first ones; see {@link TruncationStrategy}).
   */
  encode(text: string, options?: { maxLength?: number; pair?: string; truncation?: TruncationStrategy }): Encoding;
  /** Tokens (sub-word strings) without special tokens. */
  tokenize(text: string): string[];
  /** Text from ids (special tokens skipped). */
  decode(ids: readonly number[]): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** The Hugging Face files that recreate this tokenizer: `tokenizer.json`, `tokenizer_config.json`, and `vocab.txt` for WordPiece. */
  toFiles(): Record<string, string>;
}

/** What the text trainer needs of a model (Parry's `TransformerClassifier` has it). */
export interface TextModel {
  readonly numLabels: number;
  readonly outputKind: OutputKind;
  parameters(): Array<{ name: string; variable: tf.Variable }>;
  embed(inputIds: tf.Tensor2D): tf.Tensor3D;
  forwardFromEmbeddings(inputsEmbeds: tf.Tensor3D, batch: TextBatch, options?: { training?: boolean; seed?: number }): tf.Tensor2D;
  logits(batch: TextBatch, options?: { training?: boolean; seed?: number }): tf.Tensor2D;
}
