import { describe, expect, it } from 'vitest';
import { levenshtein, matchCase, splitWords, TextState } from './words.js';

describe('words', () => {
  it('splits words with offsets, keeping inner apostrophes and hyphens', () => {
    const text = "  It's a well-made film, isn't it?!";
    const w = splitWords(text);
    expect(w.map((x) => x.text)).toEqual(["It's", 'a', 'well-made', 'film', "isn't", 'it']);
    for (const x of w) expect(text.slice(x.start, x.end)).toBe(x.text);
  });

  it('replaces words in place, keeping spacing and punctuation, and reports changed spans', () => {
    const s = new TextState('Great  movie,\tREALLY good!');
    const t = s.replace(0, 'Fine').replace(2, 'very');
    expect(t.text).toBe('Fine  movie,\tvery good!');
    expect(s.text).toBe('Great  movie,\tREALLY good!');
    expect([...t.modified].sort()).toEqual([0, 2]);
    expect(t.changes()).toEqual([
      { index: 0, start: 0, end: 5, before: 'Great', after: 'Fine' },
      { index: 2, start: 14, end: 20, before: 'REALLY', after: 'very' },
    ]);
    expect(t.textWith(3, '[UNK]')).toBe('Fine  movie,\tvery [UNK]!');
    expect(s.textWithout(0)).toBe('movie,\tREALLY good!');
    expect(s.textWithout(3)).toBe('Great  movie,\tREALLY!');
  });

  it('levenshtein and matchCase', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('same', 'same')).toBe(0);
    expect(matchCase('fine', 'GOOD')).toBe('FINE');
    expect(matchCase('fine', 'Good')).toBe('Fine');
    expect(matchCase('fine', 'good')).toBe('fine');
  });
});
