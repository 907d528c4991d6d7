/**
 * Each built-in recipe pinned to its reference (TextAttack's recipe of the same name) on tiny hand-built victims and
 * resources: the PWWS word-importance formula (TextAttack's order by default, the paper's as an option), which words
 * each recipe's stopword list leaves alone (case-sensitive, as TextAttack's StopwordModification), and the constraint
 * thresholds (TextFooler's cosine and unknown words, DeepWordBug's whole-text edit distance, HotFlip's word cap).
 */
import { buildTextAttack, createRegistry, runTextAttack, type StopwordListName, type TextResources, TextState, type TextVictim } from '@parry/core';
import { inMemoryWordVectors } from '@parry/core/testing';
import { EDA_STOPWORDS, NLTK_ENGLISH_STOPWORDS, STOPWORD_SETS, TEXTFOOLER_STOPWORDS } from '@parry/text';
import { describe, expect, it } from 'vitest';
import { registerBuiltinAttacks } from '../../index.js';
import { acceptCandidate, maxEditDistance, modifiableIndices } from '../constraints.js';

/** A scores-only victim over a table of P(positive) by text (0.6 for any other text); labels neg, pos. */
function tableVictim(pos: Record<string, number>, extra: Partial<TextVictim> = {}): TextVictim & { log: string[] } {
  const log: string[] = [];
  return {
    name: 'table',
    labelNames: ['neg', 'pos'],
    outputKind: 'single-label',
    log,
    get queries() {
      return log.length;
    },
    async predict(texts) {
      log.push(...texts);
      return Float32Array.from(texts.flatMap((t) => [1 - (pos[t] ?? 0.6), pos[t] ?? 0.6]));
    },
    ...extra,
  };
}

/** Resources that hand out the real stopword lists (as @parry/pipelines does) and a small synonym table. */
function resources(synonyms: Record<string, string[]> = {}, vectors: Record<string, number[]> = { good: [1, 0] }): TextResources & { asked: Array<StopwordListName | undefined> } {
  const asked: Array<StopwordListName | undefined> = [];
  return {
    asked,
    stopwords: (list) => (asked.push(list), STOPWORD_SETS[list ?? 'eda']),
    synonyms: async () => (w: string) => synonyms[w.toLowerCase()] ?? [],
    wordVectors: async () => inMemoryWordVectors(vectors),
    maskedLm: () => Promise.reject(new Error('not used')),
  };
}

const registry = registerBuiltinAttacks(createRegistry());
/** HotFlip's build only checks that the victim is white-box; nothing here computes a gradient. */
const whiteBoxStub = () => tableVictim({}, { whiteBox: {} as TextVictim['whiteBox'] });

describe('stopword lists (data in @parry/text)', () => {
  it("are NLTK's English list (179 words) and TextFooler's (266 words), as TextAttack uses them", () => {
    expect(NLTK_ENGLISH_STOPWORDS.length).toBe(179);
    expect(new Set(NLTK_ENGLISH_STOPWORDS).size).toBe(179);
    expect(NLTK_ENGLISH_STOPWORDS.slice(0, 4)).toEqual(['i', 'me', 'my', 'myself']);
    expect(NLTK_ENGLISH_STOPWORDS).toEqual(expect.arrayContaining(["don't", "should've", 'mustn', 'ma', 'y']));
    expect(TEXTFOOLER_STOPWORDS.length).toBe(266);
    expect(new Set(TEXTFOOLER_STOPWORDS).size).toBe(266);
    expect(TEXTFOOLER_STOPWORDS.slice(0, 3)).toEqual(['a', 'about', 'above']);
    expect(TEXTFOOLER_STOPWORDS.at(-1)).toBe('yourselves');
    for (const w of [...NLTK_ENGLISH_STOPWORDS, ...TEXTFOOLER_STOPWORDS]) expect(w).toBe(w.toLowerCase());
    expect(STOPWORD_SETS.eda).toBe(EDA_STOPWORDS);
    // where the lists differ: words only TextFooler leaves alone, and words only NLTK does
    for (const w of ['nothing', 'however', 'first', 'please', 'used', 'whole', 'hundred', 'empty']) {
      expect(STOPWORD_SETS.textfooler.has(w)).toBe(true);
      expect(STOPWORD_SETS.nltk.has(w)).toBe(false);
    }
    for (const w of ['very', 'few', 'own', 'some', 'have', 'will', 'should']) {
      expect(STOPWORD_SETS.nltk.has(w)).toBe(true);
      expect(STOPWORD_SETS.textfooler.has(w)).toBe(false);
    }
  });
});

describe('which words each recipe leaves alone (stopwords matched as written, as TextAttack)', () => {
  const text = 'The movie was not very good, However nothing here is first rate';
  //            0   1     2   3   4    5     6       7       8    9  10    11
  const modifiable = async (name: string, options: Record<string, unknown> = {}) => {
    const res = resources();
    const victim = name === 'hotflip' ? whiteBoxStub() : tableVictim({});
    const { attack } = await buildTextAttack(registry, name, options, { victim, resources: res });
    const s = new TextState(text);
    return { asked: res.asked, words: modifiableIndices(s, attack.constraints).map((i) => s.words[i]) };
  };

  it('PWWS, DeepWordBug and HotFlip: NLTK list, case-sensitive (`The` and `However` may change)', async () => {
    for (const name of ['pwws', 'deepwordbug', 'hotflip']) {
      const { asked, words } = await modifiable(name);
      expect(asked).toEqual(['nltk']);
      expect(words).toEqual(['The', 'movie', 'good', 'However', 'nothing', 'first', 'rate']);
    }
  });

  it("TextFooler: TextFooler's own list, case-sensitive", async () => {
    const { asked, words } = await modifiable('textfooler', { maxModificationRate: 1 });
    expect(asked).toEqual(['textfooler']);
    expect(words).toEqual(['The', 'movie', 'very', 'good', 'However', 'rate']);
  });

  it('options pick another list or lower-case matching', async () => {
    expect((await modifiable('pwws', { stopwordsCaseSensitive: false })).words).toEqual(['movie', 'good', 'However', 'nothing', 'first', 'rate']);
    expect((await modifiable('pwws', { stopwords: 'textfooler' })).words).toEqual(['The', 'movie', 'very', 'good', 'However', 'rate']);
    const eda = await modifiable('deepwordbug', { stopwords: 'eda', stopwordsCaseSensitive: false });
    expect(eda.asked).toEqual(['eda']);
    expect(eda.words).toEqual(['movie', 'good', 'However', 'nothing', 'first', 'rate']);
  });
});

describe('PWWS word importance', () => {
  // "alpha beta" (gold pos, P = 0.6, score 1 - P = 0.4). Unk saliency scores: alpha 0.49, beta 0.0 -> softmax
  // 0.620 / 0.380. Best swap scores: alpha -> gamma 0.70, beta -> delta 0.99 (both flip the label).
  // TextAttack: 0.620 * 0.70 = 0.434 > 0.380 * 0.99 = 0.376 -> alpha first.
  // Paper:      0.620 * (0.70 - 0.4) = 0.186 < 0.380 * (0.99 - 0.4) = 0.224 -> beta first.
  const table = { 'alpha beta': 0.6, '[UNK] beta': 0.51, 'alpha [UNK]': 1.0, 'gamma beta': 0.3, 'alpha delta': 0.01 };
  const res = () => resources({ alpha: ['gamma'], beta: ['delta'] });
  const attackOnce = async (options: Record<string, unknown>) => {
    const victim = tableVictim(table);
    const { attack } = await buildTextAttack(registry, 'pwws', options, { victim, resources: res() });
    const { records } = await runTextAttack(attack, victim, [{ text: 'alpha beta', label: 1 }]);
    return { record: records[0], log: victim.log, search: attack.search.name };
  };

  it("ranks by softmax(saliency) x best swap score by default (TextAttack's weighted-saliency)", async () => {
    const { record, log, search } = await attackOnce({});
    expect(search).toBe('greedy-wir(weighted-saliency)');
    expect(record.status).toBe('successful');
    expect(record.perturbed).toBe('gamma beta');
    // original, two unk texts, the swaps of both words for the ranking; the greedy pass re-uses cached scores
    expect(log).toEqual(['alpha beta', '[UNK] beta', 'alpha [UNK]', 'gamma beta', 'alpha delta']);
  });

  it("ranks by softmax(saliency) x score gain with weighting 'paper' (Ren et al. 2019)", async () => {
    const { record, search } = await attackOnce({ weighting: 'paper' });
    expect(search).toBe('greedy-wir(weighted-saliency, paper)');
    expect(record.perturbed).toBe('alpha delta');
  });
});

describe('constraint thresholds', () => {
  it('TextFooler: 50 neighbours, cosine >= 0.5 (not 0.7), a word without a vector passes', async () => {
    // unit vectors at chosen cosines to "good"
    const at = (c: number) => [c, Math.sqrt(1 - c * c)];
    const vectors = { good: [1, 0], fine: at(0.5), okay: at(0.49) };
    const { attack } = await buildTextAttack(registry, 'textfooler', {}, { victim: tableVictim({}), resources: resources({}, vectors) });
    expect(attack.options).toMatchObject({ minCosine: 0.5, maxCandidates: 50, includeUnknown: true });
    const s = new TextState('a good film');
    expect(acceptCandidate(s, 1, 'fine', attack.constraints)).toBe(true);
    expect(acceptCandidate(s, 1, 'okay', attack.constraints)).toBe(false);
    expect(acceptCandidate(s, 1, 'unheardof', attack.constraints)).toBe(true);
    const strict = await buildTextAttack(registry, 'textfooler', { includeUnknown: false }, { victim: tableVictim({}), resources: resources({}, vectors) });
    expect(acceptCandidate(s, 1, 'unheardof', strict.attack.constraints)).toBe(false);
    expect(strict.attack.search.name).toBe('greedy-wir(delete)');
  });

  it('DeepWordBug: Levenshtein distance of the whole text <= 30, unk-ranked greedy', async () => {
    const { attack } = await buildTextAttack(registry, 'deepwordbug', {}, { victim: tableVictim({}), resources: resources() });
    expect(attack.search.name).toBe('greedy-wir(unk)');
    const long = 'x'.repeat(40);
    const s = new TextState(`a ${long}`);
    expect(acceptCandidate(s, 1, 'x'.repeat(10), attack.constraints)).toBe(true); // 30 deletions
    expect(acceptCandidate(s, 1, 'x'.repeat(9), attack.constraints)).toBe(false); // 31
    // "a aa" -> "aaa a": 2 edits to the text, 3 summed over the words
    const t = new TextState('a aa').replace(0, 'aaa');
    expect(acceptCandidate(t, 1, 'a', [maxEditDistance({ max: 2, scope: 'text' })])).toBe(true);
    expect(acceptCandidate(t, 1, 'a', [maxEditDistance({ max: 2, scope: 'words' })])).toBe(false);
    expect(acceptCandidate(t, 1, 'a', [maxEditDistance({ max: 2 })])).toBe(false);
  });

  it('HotFlip: at most 2 words, cosine >= 0.8, beam of 10 without a no-gain stop, top flip of the whole text', async () => {
    const at = (c: number) => [c, Math.sqrt(1 - c * c)];
    const vectors = { good: [1, 0], fine: at(0.8), okay: at(0.79), film: [1, 0], movie: at(0.9) };
    const { attack } = await buildTextAttack(registry, 'hotflip', {}, { victim: whiteBoxStub(), resources: resources({}, vectors) });
    expect(attack.options).toMatchObject({ beamWidth: 10, maxWords: 2, topN: 1, topNOver: 'text', minCosine: 0.8 });
    expect(attack.search.name).toBe('beam(10, no gain guard)');
    const s = new TextState('good film plot scene');
    expect(acceptCandidate(s, 0, 'fine', attack.constraints)).toBe(true);
    expect(acceptCandidate(s, 0, 'okay', attack.constraints)).toBe(false);
    const two = s.replace(0, 'fine').replace(1, 'movie');
    expect(modifiableIndices(s, attack.constraints)).toEqual([0, 1, 2, 3]);
    expect(modifiableIndices(two, attack.constraints)).toEqual([]);
  });
});
