import type * as tf from '@tensorflow/tfjs-core';
import type { OutputKind } from '../model.js';
import type { TextModel, TextTokenizer } from '../text-types.js';
import type { HeadTail, TruncationStrategy } from '../truncation.js';

/** What white-box text attacks need of a model besides the trainer's {@link TextModel}: names and the embedding table. */
export interface WhiteBoxTextModel extends TextModel {
  readonly labelNames: readonly string[];
  /** The input (word-piece) embedding matrix `[vocab, hidden]`. */
  wordEmbeddings(): tf.Tensor2D | tf.Variable;
}

/** A text classifier under attack. Every text passed to `predict` counts as one query. */
export interface TextVictim {
  readonly name: string;
  readonly labelNames: string[];
  /** `single-label` (softmax) or `multi-label` (per-label sigmoid). */
  readonly outputKind: OutputKind;
  /** Class probabilities (softmax; per-label sigmoid when multi-label), [texts.length * labelNames.length], batched internally. */
  predict(texts: readonly string[]): Promise<Float32Array>;
  /** Texts scored so far. */
  readonly queries: number;
  /**
   * Which words of `text` (as `TextState` splits it) reach the model; the others are cut by its token limit. Either
   * the number of leading words that do (a victim that keeps the start of a text), or `{ head, tail }`: the first
   * `head` and the last `tail` words do and the words between them do not (any truncation strategy: `tail` is
   * `{ head: 0, tail: n }`). Absent: every word does. The runner lets searches change only visible words, counts
   * perturbed words % over them and reports truncated examples.
   */
  visibleWords?(text: string): number | HeadTail;
  /** Set for Parry's own tfjs encoders: gradient access for HotFlip / gradient saliency. */
  readonly whiteBox?: { model: WhiteBoxTextModel; tokenizer: TextTokenizer; maxLength: number; truncation?: TruncationStrategy };
}
