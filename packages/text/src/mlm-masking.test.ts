/** Dynamic masking for MLM pre-training: rates, special tokens, whole words, seeds and epochs. */
import { describe, expect, it } from 'vitest';
import { createRng, UsageError } from '@parry/core';
import { IGNORE_INDEX, maskingVocabulary, type MaskingVocabulary, maskTokens } from './mlm-masking.js';
import { wordPieceTokenizer } from './tokenizer.js';

/** 0 pad, 1 unk, 2 cls, 3 sep, 4 mask; ids >= 500 continue a word. */
const VOCAB: MaskingVocabulary = { maskId: 4, vocabSize: 1000, specialIds: [0, 1, 2, 3, 4], isContinuation: (id) => id >= 500 };

function randomRows(n: number, len: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => [2, ...Array.from({ length: len }, () => 5 + rng.int(995)), 3]);
}

describe('maskTokens', () => {
  it('selects 15% of the ordinary tokens and splits them 80/10/10; labels hold the originals, -100 elsewhere', () => {
    const rows = randomRows(200, 100, 1);
    const { inputIds, labels, selected } = maskTokens(rows, VOCAB, { seed: 7 });
    let mask = 0;
    let random = 0;
    let kept = 0;
    rows.forEach((row, r) =>
      row.forEach((id, i) => {
        if (labels[r][i] === IGNORE_INDEX) {
          expect(inputIds[r][i]).toBe(id);
          return;
        }
        expect(labels[r][i]).toBe(id);
        expect(VOCAB.specialIds).not.toContain(id);
        const now = inputIds[r][i];
        if (now === 4) mask++;
        else if (now === id) kept++;
        else {
          random++;
          expect(VOCAB.specialIds).not.toContain(now);
        }
      }),
    );
    expect(mask + random + kept).toBe(selected);
    // 20,000 ordinary tokens: the selected share is 0.15 +- 0.0025 (1 sd); the split over ~3,000 selected tokens.
    expect(Math.abs(selected / 20000 - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(mask / selected - 0.8)).toBeLessThan(0.03);
    expect(Math.abs(random / selected - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(kept / selected - 0.1)).toBeLessThan(0.02);
    // [CLS] and [SEP] are never selected.
    expect(labels.every((l) => l[0] === IGNORE_INDEX && l[l.length - 1] === IGNORE_INDEX)).toBe(true);
  });

  it('is reproducible from its seed and epoch, and draws new masks each epoch (dynamic masking)', () => {
    const rows = randomRows(20, 30, 2);
    const a = maskTokens(rows, VOCAB, { seed: 3, epoch: 1 });
    expect(maskTokens(rows, VOCAB, { seed: 3, epoch: 1 })).toEqual(a);
    expect(maskTokens(rows, VOCAB, { seed: 3, epoch: 2 }).labels).not.toEqual(a.labels);
    expect(maskTokens(rows, VOCAB, { seed: 4, epoch: 1 }).labels).not.toEqual(a.labels);
    expect(maskTokens(rows, VOCAB, { seed: 3 })).toEqual(maskTokens(rows, VOCAB, { seed: 3, epoch: 0 }));
    // The input rows are not modified.
    expect(rows).toEqual(randomRows(20, 30, 2));
  });

  it('whole-word masking selects every piece of a word or none, round(15%) of the tokens per row', () => {
    const rng = createRng(5);
    // Words of 1-3 pieces: a start id (< 500) then continuation ids (>= 500).
    const rows = Array.from({ length: 100 }, () => {
      const row = [2];
      while (row.length < 60) {
        row.push(5 + rng.int(495));
        for (let c = rng.int(3); c > 0; c--) row.push(500 + rng.int(500));
      }
      return [...row, 3];
    });
    const { labels } = maskTokens(rows, VOCAB, { seed: 9, wholeWord: true });
    let wordsSeen = 0;
    rows.forEach((row, r) => {
      const eligible = row.length - 2;
      const target = Math.round(eligible * 0.15);
      const picked = labels[r].filter((l) => l !== IGNORE_INDEX).length;
      expect(picked).toBeLessThanOrEqual(target);
      expect(picked).toBeGreaterThanOrEqual(target - 2);
      for (let i = 1; i < row.length - 1; i++) {
        if (row[i] >= 500) expect(labels[r][i] === IGNORE_INDEX, `row ${r} piece ${i}`).toBe(labels[r][i - 1] === IGNORE_INDEX);
        else wordsSeen++;
      }
    });
    expect(wordsSeen).toBeGreaterThan(1000);
  });

  it('maskingVocabulary reads specials and continuations from a tokenizer; bad options are one UsageError', () => {
    const tok = wordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[unused0]', 'the', 'bor', '##ing', 'film']);
    const v = maskingVocabulary(tok);
    expect(v.maskId).toBe(4);
    expect(v.specialIds).toEqual([0, 1, 2, 3, 4, 5]);
    expect([6, 7, 8, 9].map((id) => v.isContinuation!(id))).toEqual([false, false, true, false]);
    const row = tok.encode('the boring film').ids;
    for (let seed = 0; seed < 20; seed++) {
      const { labels } = maskTokens([row], v, { seed, wholeWord: true, probability: 0.5 });
      expect(labels[0][2] === IGNORE_INDEX).toBe(labels[0][3] === IGNORE_INDEX);
    }
    expect(() => maskTokens([row], v, { seed: 1, probability: 1.5 })).toThrow(UsageError);
    expect(() => maskTokens([row], v, { seed: 1, maskRate: 0.95, randomRate: 0.1 })).toThrow(/exceeds 1/);
    expect(() => maskTokens([row], { ...v, isContinuation: undefined }, { seed: 1, wholeWord: true })).toThrow(/isContinuation/);
    expect(() => maskingVocabulary(wordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a']))).toThrow(/no mask token/);
  });
});
