import { describe, expect, it } from 'vitest';
import { splitWords } from './text-attack/words.js';
import { normalizeVisibleWords, pairBudgets, parseTruncation, truncateItems, truncationKeep, visibleWordsFromRanges, wordTokenRanges } from './truncation.js';

describe('truncationKeep / truncateItems', () => {
  const ids = Array.from({ length: 10 }, (_, i) => i);

  it('head keeps the first tokens, tail the last, head+tail a quarter of the budget (rounded up) from the start', () => {
    expect(truncateItems(ids, 4, 'head')).toEqual([0, 1, 2, 3]);
    expect(truncateItems(ids, 4, 'tail')).toEqual([6, 7, 8, 9]);
    expect(truncateItems(ids, 4, 'head+tail')).toEqual([0, 7, 8, 9]);
    expect(truncateItems(ids, 6, 'head+tail')).toEqual([0, 1, 6, 7, 8, 9]);
    expect(truncateItems(ids, 4)).toEqual([0, 1, 2, 3]); // head by default
  });

  it('pairBudgets: longest-first shares (the short text whole while it fits in half the budget)', () => {
    expect(pairBudgets(3, 4, 9)).toEqual([3, 4]);
    expect(pairBudgets(8, 3, 9)).toEqual([6, 3]);
    expect(pairBudgets(3, 8, 9)).toEqual([3, 6]);
    expect(pairBudgets(8, 3, 5)).toEqual([3, 2]);
  });

  it("head+tail of a 510-token budget is Sun et al.'s 128 + 382", () => {
    expect(truncationKeep(1000, 510, 'head+tail')).toEqual({ head: 128, tail: 382 });
  });

  it('a text that fits is kept whole with every strategy', () => {
    for (const s of ['head', 'tail', 'head+tail'] as const) {
      expect(truncateItems(ids, 10, s)).toEqual(ids);
      expect(truncationKeep(3, 10, s)).toEqual({ head: 3, tail: 0 });
    }
  });

  it('refuses an unknown strategy and bad counts with one line', () => {
    expect(() => truncationKeep(10, 4, 'middle' as never)).toThrow(/truncation must be one of head, tail, head\+tail, got "middle"/);
    expect(() => truncationKeep(-1, 4)).toThrow(/n must be an integer >= 0/);
    expect(() => parseTruncation('left', '--truncation')).toThrow(/^--truncation must be one of head, tail, head\+tail, got "left"$/);
    expect(parseTruncation('head+tail')).toBe('head+tail');
  });
});

describe('word visibility', () => {
  // one token per character, spaces free: a stand-in tokenizer whose counts are easy to follow
  const count = (s: string) => s.replace(/\s/g, '').length;

  it('wordTokenRanges places each word (gaps of punctuation take tokens of their own)', () => {
    const text = 'ab, cd efg';
    expect(wordTokenRanges(text, splitWords(text), count)).toEqual({ ranges: [[0, 2], [3, 5], [5, 8]], total: 8 });
  });

  it('falls back to every prefix when the pieces do not add up to the whole', () => {
    // a tokenizer that merges across word boundaries: counts the whole text as one token per two characters
    const odd = (s: string) => Math.ceil(s.replace(/\s/g, '').length / 2);
    const text = 'a b c d';
    const { ranges, total } = wordTokenRanges(text, splitWords(text), odd);
    expect(total).toBe(2);
    expect(ranges).toEqual([[0, 1], [1, 1], [1, 2], [2, 2]]);
  });

  it('a character the tokenizer drops inside a word costs its whitespace piece, not the whole text (exact, linear work)', () => {
    // WordPiece-like: whitespace splits, C1 controls are dropped (joining the letters around them), runs of letters or
    // digits are one token, any other character is one
    const wp = (s: string) => s.split(/\s+/).reduce((n, w) => n + (w.replace(/[\x80-\x9f]/g, '').match(/[\p{L}\p{N}]+|[^\p{L}\p{N}]/gu)?.length ?? 0), 0);
    const text = 'It\x92s all ok, friend';
    const spans = splitWords(text);
    const prefixes = spans.map((s) => {
      const before = wp(text.slice(0, s.start));
      return [before, Math.max(before, wp(text.slice(0, s.end)))];
    });
    expect(wordTokenRanges(text, spans, wp)).toEqual({ ranges: prefixes, total: wp(text) });
    // a long text with one such character: the work stays linear in its length (every prefix would be quadratic)
    const long = `${'word '.repeat(3000)}It\x92s ${'more '.repeat(3000)}`;
    let chars = 0;
    const counted = (s: string) => {
      chars += s.length;
      return wp(s);
    };
    const r = wordTokenRanges(long, splitWords(long), counted);
    expect(r.total).toBe(wp(long));
    expect(r.ranges[3001]).toEqual([3001, 3001]); // "s" joins "It"
    expect(r.ranges.at(-1)).toEqual([6000, 6001]);
    expect(chars).toBeLessThan(10 * long.length);
  });

  it('visibleWordsFromRanges: a word counts when any of its tokens is kept', () => {
    const ranges: Array<[number, number]> = [[0, 2], [2, 4], [4, 6], [6, 8], [8, 10]];
    expect(visibleWordsFromRanges(ranges, 10, 10, 'tail')).toEqual({ head: 5, tail: 0 });
    expect(visibleWordsFromRanges(ranges, 10, 5, 'head')).toEqual({ head: 3, tail: 0 }); // token 4 is word 2's first
    expect(visibleWordsFromRanges(ranges, 10, 5, 'tail')).toEqual({ head: 0, tail: 3 });
    expect(visibleWordsFromRanges(ranges, 10, 4, 'head+tail')).toEqual({ head: 1, tail: 2 }); // tokens 0 and 7..9
    expect(visibleWordsFromRanges(ranges, 10, 9, 'head+tail')).toEqual({ head: 5, tail: 0 }); // 3 + 6 tokens reach every word
  });

  it('normalizeVisibleWords reads numbers as leading words and clamps', () => {
    expect(normalizeVisibleWords(3, 5)).toEqual({ head: 3, tail: 0 });
    expect(normalizeVisibleWords(9, 5)).toEqual({ head: 5, tail: 0 });
    expect(normalizeVisibleWords({ head: 0, tail: 2 }, 5)).toEqual({ head: 0, tail: 2 });
    expect(normalizeVisibleWords({ head: 3, tail: 4 }, 5)).toEqual({ head: 5, tail: 0 });
    expect(normalizeVisibleWords(-1, 5)).toEqual({ head: 0, tail: 0 });
  });
});
