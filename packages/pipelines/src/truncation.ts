/**
 * Truncation counts of text data sets: how many texts exceed a model's token limit and how many of their words still
 * reach the model under a truncation strategy (`head`, `tail`, `head+tail`; see `TruncationStrategy` in
 * `@parry/core`). Recorded in results files (`truncation`) and printed by `parry train` / `parry eval`.
 */
import {
  pairBudgets,
  parseTruncation,
  splitWords,
  type TextTokenizer,
  type TruncationStrategy,
  visibleWordsFromRanges,
  wordTokenRanges,
} from '@parry/core';
import type { TruncationCount, TruncationSection } from '@parry/metrics';
import { visibleWordsOf } from '@parry/text';
import { readTrainingInfo } from './training-info.js';

/** Words of `text` and how many of them reach the model when its tokens are cut to `budget` with `strategy`. */
function visibleOf(text: string, tokens: number, budget: number, strategy: TruncationStrategy, count: (s: string) => number): { words: number; visible: number } {
  const spans = splitWords(text);
  if (tokens <= budget) return { words: spans.length, visible: spans.length };
  const v = visibleWordsFromRanges(wordTokenRanges(text, spans, count).ranges, tokens, budget, strategy);
  return { words: spans.length, visible: v.head + v.tail };
}

/**
 * Count the texts (pairs: the pair) of `examples` whose tokens, special tokens included, exceed `maxLength`, and the
 * words (letters/digits runs, as the text attacks split them) with at least one token kept by `strategy`.
 */
export function countTruncation(
  examples: ReadonlyArray<{ text: string; pair?: string }>,
  tokenizer: TextTokenizer,
  maxLength: number,
  strategy: TruncationStrategy,
  split: string,
): TruncationCount {
  // words and gaps repeat across a corpus: their counts are remembered (a tokenizer counts a string the same every time)
  const memo = new Map<string, number>();
  const count = (s: string) => {
    if (s === '') return 0;
    let v = memo.get(s);
    if (v === undefined) {
      v = tokenizer.tokenize(s).length;
      if (s.length <= 64 && memo.size < 500_000) memo.set(s, v);
    }
    return v;
  };
  const specials = { single: tokenizer.encode('').ids.length, pair: tokenizer.encode('', { pair: '' }).ids.length };
  let truncated = 0;
  let words = 0;
  let visibleWords = 0;
  for (const ex of examples) {
    if (ex.pair === undefined) {
      // a long text (an e-mail) is tokenized only in the prefix / suffix that decides it (visibleWordsOf)
      const r = visibleWordsOf(tokenizer, ex.text, Math.max(0, maxLength - specials.single), strategy, count);
      if (r.truncated) truncated++;
      words += r.words;
      visibleWords += r.visible.head + r.visible.tail;
      continue;
    }
    const a = count(ex.text);
    const b = count(ex.pair);
    const budget = Math.max(0, maxLength - specials.pair);
    if (a + b > budget) truncated++;
    const [na, nb] = pairBudgets(a, b, budget);
    for (const [text, n, keep] of [[ex.text, a, na], [ex.pair, b, nb]] as const) {
      const r = visibleOf(text, n, keep, strategy, count);
      words += r.words;
      visibleWords += r.visible;
    }
  }
  return { split, n: examples.length, truncated, words, visibleWords, visibleWordShare: words ? visibleWords / words : 1 };
}

/** The `truncation` section of a results file. */
export function truncationSection(strategy: TruncationStrategy, maxLength: number, splits: TruncationCount[]): TruncationSection {
  return { strategy, maxLength, splits };
}

const pct1 = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One line: `truncation head (128 tokens): train 412 of 1000 texts cut, 71.3% of words seen; dev ...`. */
export function truncationLine(t: TruncationSection): string {
  const parts = t.splits.map((s) => `${s.split} ${s.truncated} of ${s.n} texts cut (${pct1(s.n ? s.truncated / s.n : 0)}), ${pct1(s.visibleWordShare)} of words seen`);
  return `truncation ${t.strategy} (${t.maxLength} tokens): ${parts.join('; ')}`;
}

/**
 * The truncation strategy a model was trained with (its `parry_training.json`), `head` for a model without one or
 * trained before strategies existed; `given` (a flag's value) wins.
 */
export function modelTruncation(dir: string, given?: string): TruncationStrategy {
  if (given !== undefined) return parseTruncation(given, '--truncation');
  return readTrainingInfo(dir, { withData: false }).truncation ?? 'head';
}
