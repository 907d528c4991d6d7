/**
 * WordPiece vocabularies for Transformer classifiers trained from scratch. Texts are pre-tokenised exactly as the
 * BERT tokenizer will see them (the `@huggingface/tokenizers` BertNormalizer and BertPreTokenizer), so every word the
 * builder counts is a word the tokenizer later looks up.
 */
import { UsageError } from '@parry/core';
import { bertWordSplitter } from './tokenizer.js';

export { wordPieceTokenizer } from './tokenizer.js';

/** The special tokens at the start of every built vocabulary: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4. */
export const WORDPIECE_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Words longer than this (in code points) become [UNK] in WordPiece, so they are not worth a vocabulary entry. */
const MAX_WORD_CHARS = 100;
/** Longest `##` piece (in code points, without `##`) counted for sub-word entries. */
const MAX_PIECE_CHARS = 16;

/** Options of {@link buildWordPieceVocab}. */
export interface WordPieceVocabOptions {
  /** Most entries in the vocabulary (specials, characters, words and pieces together). */
  vocabSize: number;
  /** Fewest occurrences for a whole word or a `##` piece to be kept (default 2). Characters are always kept. */
  minFrequency?: number;
  /** Lowercase and strip accents, as bert-base-uncased does (default true). Use the same for the tokenizer. */
  lowercase?: boolean;
  /** After whole words, fill the rest with frequent `##` word-medial/final pieces (default true). */
  subwords?: boolean;
}

/** Highest count first, then code-unit string order (locale independent, so the result is deterministic). */
function byCount(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * Count the words of `texts` as the BERT tokenizer splits them: clean control characters, split CJK characters,
 * optionally lowercase and strip accents, then split on whitespace and punctuation (each punctuation mark is a word).
 */
export function countBertWords(texts: Iterable<string>, lowercase = true): Map<string, number> {
  const split = bertWordSplitter(lowercase);
  const counts = new Map<string, number>();
  let n = 0;
  for (const text of texts) {
    if (typeof text !== 'string') throw new UsageError(`buildWordPieceVocab: text ${n} is ${typeof text}, expected a string`);
    n++;
    for (const word of split(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/**
 * Build a WordPiece vocabulary from texts: the five special tokens first ({@link WORDPIECE_SPECIAL_TOKENS}), then
 * every character seen as `c` and `##c` (most frequent first, so nothing needlessly becomes [UNK]), then the most
 * frequent whole words with at least `minFrequency` occurrences, then (with `subwords`) the most frequent `##` pieces
 * of the words left out, until `vocabSize` entries. Ties are broken by string order, so the result depends only on
 * the multiset of words. The vocabulary may be shorter than `vocabSize` when the texts have too few candidates; when
 * `vocabSize` cannot hold every character, the rarest characters are left out.
 */
export function buildWordPieceVocab(texts: Iterable<string>, options: WordPieceVocabOptions): string[] {
  const { vocabSize, minFrequency = 2, lowercase = true, subwords = true } = options;
  const nSpecial = WORDPIECE_SPECIAL_TOKENS.length;
  if (!Number.isInteger(vocabSize) || vocabSize < nSpecial) {
    throw new UsageError(`buildWordPieceVocab: vocabSize must be an integer >= ${nSpecial} (the special tokens), got ${vocabSize}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new UsageError(`buildWordPieceVocab: minFrequency must be an integer >= 1, got ${minFrequency}`);
  }
  const words = countBertWords(texts, lowercase);
  const vocab: string[] = [...WORDPIECE_SPECIAL_TOKENS];
  const inVocab = new Set<string>(vocab);
  const add = (token: string): boolean => {
    if (vocab.length >= vocabSize) return false;
    if (!inVocab.has(token)) {
      inVocab.add(token);
      vocab.push(token);
    }
    return true;
  };

  const chars = new Map<string, number>();
  for (const [word, count] of words) for (const c of word) chars.set(c, (chars.get(c) ?? 0) + count);
  for (const [c] of [...chars].sort(byCount)) {
    if (!add(c) || !add(`##${c}`)) return vocab;
  }

  const kept = [...words].filter(([w, count]) => count >= minFrequency && [...w].length <= MAX_WORD_CHARS).sort(byCount);
  for (const [word] of kept) if (!add(word)) return vocab;
  if (!subwords) return vocab;

  const pieces = new Map<string, number>();
  for (const [word, count] of words) {
    if (inVocab.has(word)) continue;
    const cps = [...word];
    if (cps.length > MAX_WORD_CHARS) continue;
    for (let i = 1; i < cps.length; i++) {
      for (let j = i + 2; j <= Math.min(cps.length, i + MAX_PIECE_CHARS); j++) {
        const piece = `##${cps.slice(i, j).join('')}`;
        pieces.set(piece, (pieces.get(piece) ?? 0) + count);
      }
    }
  }
  for (const [piece, count] of [...pieces].sort(byCount)) {
    if (count < minFrequency) break;
    if (!add(piece)) break;
  }
  return vocab;
}
