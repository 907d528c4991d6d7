import type { TextTokenizer } from '@parry/core';
import type { TransformerClassifier } from '@parry/text';

/** A text classifier under attack. Every text passed to `predict` counts as one query. */
export interface TextVictim {
  readonly name: string;
  readonly labelNames: string[];
  readonly multiLabel: boolean;
  /** Class probabilities (softmax; per-label sigmoid when multiLabel), [texts.length * labelNames.length], batched internally. */
  predict(texts: readonly string[]): Promise<Float32Array>;
  /** Texts scored so far. */
  readonly queries: number;
  /** Set for Parry's own tfjs encoders: gradient access for HotFlip / gradient saliency. */
  readonly whiteBox?: { model: TransformerClassifier; tokenizer: TextTokenizer; maxLength: number };
}
