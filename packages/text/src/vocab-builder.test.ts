import { describe, expect, it } from 'vitest';
import { UsageError } from '@parry/core';
import { tokenizerFromFiles } from './tokenizer.js';
import { buildWordPieceVocab, countBertWords, WORDPIECE_SPECIAL_TOKENS, wordPieceTokenizer } from './vocab-builder.js';

const CORPUS = [
  'The movie was great, truly great!',
  'A great cast; the plot was thin.',
  'I loved the movie. The ending was GREAT.',
  'Not a movie I would watch again…',
  'Café owners in the film were charming and the acting was charming.',
  'charming, funny, moving: the best movie of the year',
];

describe('countBertWords', () => {
  it('counts words as the BERT tokenizer splits them', () => {
    const counts = countBertWords(['Great, GREAT café!', 'great'], true);
    expect(Object.fromEntries(counts)).toEqual({ great: 3, ',': 1, cafe: 1, '!': 1 });
    const cased = countBertWords(['Great, GREAT café!'], false);
    expect(Object.fromEntries(cased)).toEqual({ Great: 1, ',': 1, GREAT: 1, 'café': 1, '!': 1 });
  });
});

describe('buildWordPieceVocab', () => {
  const vocab = buildWordPieceVocab(CORPUS, { vocabSize: 200 });

  it('puts the special tokens first, then every character as c and ##c', () => {
    expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(WORDPIECE_SPECIAL_TOKENS).toEqual(vocab.slice(0, 5));
    const chars = new Set([...countBertWords(CORPUS).keys()].flatMap((w) => [...w]));
    const charBlock = vocab.slice(5, 5 + 2 * chars.size);
    expect(new Set(charBlock)).toEqual(new Set([...chars].flatMap((c) => [c, `##${c}`])));
    // The most frequent character ("e") comes first, as a pair.
    expect(charBlock.slice(0, 2)).toEqual(['e', '##e']);
    expect(new Set(vocab).size).toBe(vocab.length);
    expect(vocab.length).toBeLessThanOrEqual(200);
  });

  it('keeps frequent words whole, most frequent first, and drops words seen fewer than minFrequency times', () => {
    const counts = countBertWords(CORPUS);
    // the: 8; great, movie, was: 4 each (ties in string order); charming: 3.
    expect([counts.get('the'), counts.get('great'), counts.get('movie'), counts.get('was'), counts.get('charming')]).toEqual([8, 4, 4, 4, 3]);
    const firstWord = vocab.findIndex((t) => [...t].length > 1 && !t.startsWith('##') && !t.startsWith('['));
    expect(vocab.slice(firstWord, firstWord + 5)).toEqual(['the', 'great', 'movie', 'was', 'charming']);
    expect(vocab).toContain('charming');
    // "ending" occurs once: below the default minFrequency of 2.
    expect(counts.get('ending')).toBe(1);
    expect(vocab).not.toContain('ending');
    expect(buildWordPieceVocab(CORPUS, { vocabSize: 200, minFrequency: 1 })).toContain('ending');
    const t = wordPieceTokenizer(vocab);
    expect(t.tokenize('The movie was GREAT')).toEqual(['the', 'movie', 'was', 'great']);
  });

  it('turns no seen character into [UNK], whatever the word', () => {
    const t = wordPieceTokenizer(vocab);
    for (const text of CORPUS) expect(t.encode(text).ids).not.toContain(t.unkId);
    // Unseen words made of seen characters still avoid [UNK]; an unseen character does not.
    expect(t.encode('thermometer macaroni').ids).not.toContain(t.unkId);
    expect(t.encode('zebra').ids).toContain(t.unkId); // no "z" in the corpus
  });

  it('adds frequent ## pieces of the words left out, after the whole words', () => {
    // cat and dog occur twice and are kept whole; the -ing words occur once, below minFrequency 2, and are left out.
    // "##in", "##ing" and "##ng" occur once in each of them except singing, where each occurs twice (s-in-g-in-g), so
    // each counts 1 + 1 + 1 + 2 = 5, more than any other piece (the next, e.g. "##alking", count 2).
    const texts = ['cat dog walking talking', 'running singing cat dog'];
    const chars = new Set('catdogwalkingtalkingrunningsinging').size;
    const onlyWords = buildWordPieceVocab(texts, { vocabSize: 1000, subwords: false });
    expect(onlyWords.slice(5 + 2 * chars)).toEqual(['cat', 'dog']);
    const tight = buildWordPieceVocab(texts, { vocabSize: 5 + 2 * chars + 2 + 3 });
    expect(tight.slice(5 + 2 * chars)).toEqual(['cat', 'dog', '##in', '##ing', '##ng']);
    const t = wordPieceTokenizer(tight);
    expect(t.tokenize('walking')).toEqual(['w', '##a', '##l', '##k', '##ing']);
    const all = buildWordPieceVocab(texts, { vocabSize: 1000 });
    expect(all.slice(0, tight.length)).toEqual(tight);
    expect(all.slice(tight.length).every((p) => p.startsWith('##'))).toBe(true);
  });

  it('is deterministic and independent of text order', () => {
    const again = buildWordPieceVocab(CORPUS, { vocabSize: 200 });
    expect(again).toEqual(vocab);
    expect(buildWordPieceVocab([...CORPUS].reverse(), { vocabSize: 200 })).toEqual(vocab);
    // Ties are broken by string order: "b" and "a" both occur twice, "a" comes first.
    expect(buildWordPieceVocab(['bb aa', 'aa bb'], { vocabSize: 20 }).slice(5)).toEqual(['a', '##a', 'b', '##b', 'aa', 'bb']);
  });

  it('respects vocabSize and lowercase: false', () => {
    expect(buildWordPieceVocab(CORPUS, { vocabSize: 12 })).toHaveLength(12);
    expect(buildWordPieceVocab(CORPUS, { vocabSize: 5 })).toEqual([...WORDPIECE_SPECIAL_TOKENS]);
    const cased = buildWordPieceVocab(CORPUS, { vocabSize: 300, lowercase: false });
    expect(cased).toContain('The');
    expect(cased).toContain('great');
    expect(cased).not.toContain('GREAT'); // once only
    const t = wordPieceTokenizer(cased, { lowercase: false });
    expect(t.tokenize('The great GREAT')).toEqual(['The', 'great', 'G', '##R', '##E', '##A', '##T']);
    expect(t.encode('Café').ids).not.toContain(t.unkId);
  });

  it('rejects bad options with UsageError', () => {
    expect(() => buildWordPieceVocab(CORPUS, { vocabSize: 4 })).toThrow(UsageError);
    expect(() => buildWordPieceVocab(CORPUS, { vocabSize: 10.5 })).toThrow(UsageError);
    expect(() => buildWordPieceVocab(CORPUS, { vocabSize: 100, minFrequency: 0 })).toThrow(UsageError);
    expect(() => buildWordPieceVocab([1 as unknown as string], { vocabSize: 100 })).toThrow(/text 0 is number/);
  });

  it('a tokenizer over the built vocabulary round-trips through toFiles()', () => {
    const t = wordPieceTokenizer(vocab);
    const back = tokenizerFromFiles(t.toFiles());
    for (const text of CORPUS) expect(back.encode(text, { maxLength: 10 })).toEqual(t.encode(text, { maxLength: 10 }));
    expect([back.padId, back.unkId, back.clsId, back.sepId, back.maskId]).toEqual([0, 1, 2, 3, 4]);
    expect(back.decode(back.encode(CORPUS[0]).ids)).toBe('the movie was great, truly great!');
  });
});
