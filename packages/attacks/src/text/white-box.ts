/**
 * Parry's own tfjs encoders as attack victims: batched predictions with exact query counts, and the gradient access
 * (input-embedding gradients, word-to-token alignment) that HotFlip and gradient saliency need.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type BoundGoal,
  type HeadTail,
  parseTruncation,
  type TextTokenizer,
  type TextVictim,
  type TruncationStrategy,
  truncationKeep,
  UsageError,
  type WhiteBoxTextModel,
  type WordSpan,
} from '@parry/core';
import { predictText, visibleWordsOf } from '@parry/text';

export interface ParryVictimOptions {
  /** Token limit per text, special tokens included (default 128). */
  maxLength?: number;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** Which tokens of an over-long text reach the model: `head` (default), `tail` or `head+tail` (see `TruncationStrategy`). */
  truncation?: TruncationStrategy;
  name?: string;
  /**
   * Scores texts instead of the tfjs model (e.g. `onnxClassifier(model)` of @parry/text: the same weights on ONNX
   * Runtime); gradients (HotFlip, gradient saliency) still come from the tfjs model.
   */
  scorer?: { predict(encodings: ReturnType<TextTokenizer['encode']>[], padId: number, batchSize?: number): Promise<Float32Array> };
}

/**
 * The words of `text` (as `TextState` splits it) that reach a model whose tokenizer cuts it to `maxLength` tokens with
 * `truncation`: the first `head` and the last `tail` words (`{ head: words, tail: 0 }` when the text fits).
 */
export function visibleWordsFor(tokenizer: TextTokenizer, text: string, maxLength: number, truncation: TruncationStrategy = 'head'): HeadTail {
  // a long text (an e-mail) is tokenized only in the prefix / suffix that decides it (visibleWordsOf in @parry/text)
  return visibleWordsOf(tokenizer, text, Math.max(0, maxLength - tokenizer.encode('').ids.length), truncation).visible;
}

/** Wrap a Parry `TransformerClassifier` and its tokenizer as a white-box `TextVictim` (every predicted text is one query). */
export function parryVictim(model: WhiteBoxTextModel & { readonly family?: string }, tokenizer: TextTokenizer, options: ParryVictimOptions = {}): TextVictim {
  const maxLength = options.maxLength ?? 128;
  const batchSize = options.batchSize ?? 32;
  const truncation = parseTruncation(options.truncation ?? 'head', 'parryVictim: truncation');
  if (!(Number.isInteger(maxLength) && maxLength >= 3)) throw new UsageError(`parryVictim: maxLength must be an integer >= 3, got ${maxLength}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new UsageError(`parryVictim: batchSize must be a positive integer, got ${batchSize}`);
  let queries = 0;
  return {
    name: options.name ?? `parry ${model.family ?? 'encoder'}`,
    labelNames: model.labelNames.slice(),
    outputKind: model.outputKind,
    get queries() {
      return queries;
    },
    async predict(texts) {
      queries += texts.length;
      if (texts.length === 0) return new Float32Array(0);
      const encodings = texts.map((t) => tokenizer.encode(t, { maxLength, truncation }));
      return options.scorer ? options.scorer.predict(encodings, tokenizer.padId, batchSize) : predictText(model, encodings, tokenizer.padId, batchSize);
    },
    visibleWords: (text) => visibleWordsFor(tokenizer, text, maxLength, truncation),
    whiteBox: { model, tokenizer, maxLength, truncation },
  };
}

/** Token ids of a text and, per word, the positions of its tokens in them (empty when the word was truncated away). */
export interface WordAlignment {
  ids: number[];
  typeIds: number[];
  positions: number[][];
}

/**
 * Align words to tokens: word i covers the tokens of `text[0, end)` beyond those of `text[0, start)`, offset by the
 * leading special token and placed where `truncation` keeps them (a cut token has no position). Exact for WordPiece
 * (its pre-tokenizer splits at the word boundaries used here); an approximation for byte-level BPE, whose tokens
 * carry the preceding space.
 */
export function alignWords(
  tokenizer: TextTokenizer,
  text: string,
  spans: readonly WordSpan[],
  maxLength: number,
  truncation: TruncationStrategy = 'head',
): WordAlignment {
  const enc = tokenizer.encode(text, { maxLength, truncation });
  const lead = enc.ids[0] === tokenizer.clsId ? 1 : 0;
  const limit = enc.ids.length - (enc.ids[enc.ids.length - 1] === tokenizer.sepId ? 1 : 0);
  const n = tokenizer.tokenize(text).length;
  // the text's own tokens in the encoding: the kept head, then the kept tail
  const keep = truncationKeep(n, Math.max(0, Math.min(n, limit - lead)), truncation);
  const at = (k: number) => (k < keep.head ? lead + k : k >= n - keep.tail ? lead + keep.head + k - (n - keep.tail) : -1);
  const positions = spans.map((s) => {
    const before = tokenizer.tokenize(text.slice(0, s.start)).length;
    const through = tokenizer.tokenize(text.slice(0, s.end)).length;
    const out: number[] = [];
    for (let k = before; k < through; k++) {
      const p = at(k);
      if (p >= 0 && p < limit) out.push(p);
    }
    return out;
  });
  return { ids: enc.ids, typeIds: enc.typeIds, positions };
}

/**
 * Gradient of a goal's score w.r.t. the input embeddings of one text: `[T * E]` row-major, with the token ids.
 * One forward and one backward pass (not counted as a query; callers count gradient calls).
 */
export function embeddingGradient(
  whiteBox: NonNullable<TextVictim['whiteBox']>,
  ids: readonly number[],
  typeIds: readonly number[],
  goal: BoundGoal,
): { grad: Float32Array; dim: number } {
  const { model } = whiteBox;
  const T = ids.length;
  const multi = model.outputKind === 'multi-label';
  const g = tf.tidy(() => {
    const batch = {
      inputIds: tf.tensor2d(Int32Array.from(ids), [1, T], 'int32'),
      attentionMask: tf.ones([1, T], 'int32') as tf.Tensor2D,
      tokenTypeIds: tf.tensor2d(Int32Array.from(typeIds), [1, T], 'int32'),
    };
    const emb = model.embed(batch.inputIds);
    const f = (e: tf.Tensor) => {
      const logits = model.forwardFromEmbeddings(e as tf.Tensor3D, batch);
      const p = multi ? tf.sigmoid(logits) : tf.softmax(logits);
      return goal.tfScore(tf.reshape(p, [model.numLabels]) as tf.Tensor1D);
    };
    return tf.grad(f)(emb);
  });
  const grad = g.dataSync() as Float32Array;
  const dim = g.shape[2]!;
  g.dispose();
  return { grad, dim };
}
