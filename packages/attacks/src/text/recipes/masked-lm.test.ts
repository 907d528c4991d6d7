/**
 * BAE and BERT-Attack (issue 15) pinned to TextAttack 0.3.x's recipes with a deterministic fake masked language model
 * (a function or table: words, index, mode -> candidates) and hand-built victims: the word-importance method (deletion
 * vs [UNK]), the stopwords left alone, the 40% cap, the part-of-speech check on replacements (not insertions), the
 * min-confidence filter, one `predictBatch` call per search step, insertions growing the text by one word, the
 * similarity settings handed to `parry/sentence-similarity`, the query budget and the one-line refusal without a model.
 * The real MLM heads are tested in @parry/text.
 */
import {
  buildTextAttack,
  createRegistry,
  defineTextComponent,
  type MaskedLanguageModel,
  type MaskedLmCandidate,
  type MaskedLmQuery,
  type PluginFactory,
  type PosTagger,
  runTextAttack,
  splitWords,
  type TextResources,
  TextState,
  type TextVictim,
  UsageError,
  z,
} from '@parry/core';
import { inMemoryWordVectors, toyTextResources } from '@parry/core/testing';
import { STOPWORD_SETS } from '@parry/text';
import { describe, expect, it } from 'vitest';
import { builtinTextAttacks, builtinTextComponents } from '../index.js';
import { acceptCandidate, modifiableIndices } from '../constraints.js';
import { maskedLmSwap, swapsOnly } from '../masked-lm.js';
import { greedyWir } from '../search.js';

type Mode = NonNullable<MaskedLmQuery['mode']>;

/** A fake masked LM: `answer(words, index, mode)` gives [word, score] pairs; every predictBatch call is logged. */
function fakeMlm(answer: (words: readonly string[], index: number, mode: Mode) => Array<[string, number]>): MaskedLanguageModel & { calls: MaskedLmQuery[][] } {
  const calls: MaskedLmQuery[][] = [];
  const one = (q: MaskedLmQuery): MaskedLmCandidate[] => answer(q.words, q.index, q.mode ?? 'mask').slice(0, q.k).map(([word, score]) => ({ word, score }));
  return {
    name: 'fake-mlm',
    calls,
    predict: async (words, index, k) => one({ words, index, k }),
    async predictBatch(queries) {
      calls.push(queries.map((q) => ({ ...q, words: [...q.words] })));
      return queries.map(one);
    },
  };
}

/** A table: `${mode} ${index} ${words joined}` -> [word, score] pairs (nothing for other questions). */
const tableMlm = (table: Record<string, Array<[string, number]>>) => fakeMlm((words, index, mode) => table[`${mode} ${index} ${words.join(' ')}`] ?? []);

/** A scores-only victim: P(positive) = f(text); labels neg, pos; every text scored is logged. */
function fnVictim(f: (text: string) => number): TextVictim & { log: string[] } {
  const log: string[] = [];
  return {
    name: 'fn',
    labelNames: ['neg', 'pos'],
    outputKind: 'single-label',
    log,
    get queries() {
      return log.length;
    },
    async predict(texts) {
      log.push(...texts);
      return Float32Array.from(texts.flatMap((t) => [1 - f(t), f(t)]));
    },
  };
}
const tableVictim = (pos: Record<string, number>, other = 0.9) => fnVictim((t) => pos[t] ?? other);

/** The real stopword lists (as @parry/pipelines hands them out), no word vectors needed, the fake model, an optional tagger. */
function resources(mlm: MaskedLanguageModel, tagger?: PosTagger): TextResources {
  return {
    stopwords: (list) => STOPWORD_SETS[list ?? 'eda'],
    synonyms: async () => () => [],
    wordVectors: async () => inMemoryWordVectors({ good: [1, 0] }),
    maskedLm: async () => mlm,
    ...(tagger ? { posTagger: async () => tagger } : {}),
  };
}

const registry = createRegistry([...builtinTextAttacks, ...builtinTextComponents]);
const NO_SIM = { sentenceSimilarity: false };

async function attack(recipe: 'bae' | 'bert-attack', options: Record<string, unknown>, victim: TextVictim, mlm: MaskedLanguageModel, text: string, extra: { tagger?: PosTagger; queryBudget?: number } = {}) {
  const { attack: a } = await buildTextAttack(registry, recipe, options, { victim, resources: resources(mlm, extra.tagger) });
  const { records } = await runTextAttack(a, victim, [{ text, label: 1 }], { seed: 3, queryBudget: extra.queryBudget });
  return { record: records[0], attack: a };
}

describe('word importance: BAE ranks by deletion, BERT-Attack by [UNK]', () => {
  // deletion says beta matters more ("beta" alone keeps P = 0.8, "alpha" alone drops to 0.3);
  // [UNK] says alpha does ("[UNK] beta" drops to 0.2, "alpha [UNK]" keeps 0.7)
  const table = { 'alpha beta': 0.9, beta: 0.8, alpha: 0.3, '[UNK] beta': 0.2, 'alpha [UNK]': 0.7 };

  it('BAE deletes each word, then asks the model about beta first (masked)', async () => {
    const victim = tableVictim(table);
    const mlm = tableMlm({});
    const { attack: a } = await attack('bae', NO_SIM, victim, mlm, 'alpha beta');
    expect(a.search.name).toBe('greedy-wir(delete)');
    expect(victim.log.slice(0, 3)).toEqual(['alpha beta', 'beta', 'alpha']);
    expect(mlm.calls.map((c) => c.map((q) => [q.index, q.mode, q.k]))).toEqual([[[1, 'mask', 50]], [[0, 'mask', 50]]]);
  });

  it('BERT-Attack puts [UNK] in each word, then asks about alpha first (unmasked, k = 48)', async () => {
    const victim = tableVictim(table);
    const mlm = tableMlm({});
    const { attack: a } = await attack('bert-attack', NO_SIM, victim, mlm, 'alpha beta');
    expect(a.search.name).toBe('greedy-wir(unk)');
    expect(victim.log.slice(0, 3)).toEqual(['alpha beta', '[UNK] beta', 'alpha [UNK]']);
    expect(mlm.calls.map((c) => c.map((q) => [q.index, q.mode, q.k]))).toEqual([[[0, 'unmasked', 48]], [[1, 'unmasked', 48]]]);
  });
});

describe('stopwords: NLTK English, matched as written (TextAttack StopwordModification())', () => {
  const text = 'The movie was not very good, However nothing here is first rate';
  //            0   1     2   3   4    5     6       7       8    9  10    11
  for (const recipe of ['bae', 'bert-attack'] as const) {
    it(`${recipe} leaves was/not/very/here/is alone, and "The" only when matched in lower case`, async () => {
      const { attack: a } = await buildTextAttack(registry, recipe, NO_SIM, { victim: tableVictim({}), resources: resources(tableMlm({})) });
      expect(modifiableIndices(new TextState(text), a.constraints)).toEqual([0, 1, 5, 6, 7, 10, 11]);
      const lower = await buildTextAttack(registry, recipe, { ...NO_SIM, stopwordsCaseSensitive: false }, { victim: tableVictim({}), resources: resources(tableMlm({})) });
      expect(modifiableIndices(new TextState(text), lower.attack.constraints)).toEqual([1, 5, 6, 7, 10, 11]); // "however" is not in NLTK's list
    });
  }
});

describe('BERT-Attack changes at most 40% of the words', () => {
  // every swap lowers P(pos) by 0.1 and the goal is never reached: the attack goes as far as its constraints let it
  const victim = () => fnVictim((t) => 0.97 - 0.1 * splitWords(t).filter((w) => w.text.startsWith('z')).length);
  const mlm = () => fakeMlm((words, i) => [[`z${words[i]}`, 0.9]]);
  const text = 'alpha beta gamma delta epsilon';

  it('ceil(0.4 x 5) = 2 words, then no word is modifiable', async () => {
    const { record, attack: a } = await attack('bert-attack', NO_SIM, victim(), mlm(), text);
    expect(record.status).toBe('failed');
    expect(record.modifiedWords).toBe(2);
    const two = new TextState(text).replace(0, 'x').replace(1, 'y');
    expect(modifiableIndices(two, a.constraints)).toEqual([]); // 0 and 1 once each (no-repeat), 2-4 past the cap
    expect(modifiableIndices(new TextState(text).replace(0, 'x'), a.constraints)).toEqual([1, 2, 3, 4]);
  });

  it('without the cap (maxModificationRate 1) it changes every word; BAE has no cap', async () => {
    expect((await attack('bert-attack', { ...NO_SIM, maxModificationRate: 1 }, victim(), mlm(), text)).record.modifiedWords).toBe(5);
    expect((await attack('bae', NO_SIM, victim(), mlm(), text)).record.modifiedWords).toBe(5);
  });
});

describe('BAE: part of speech on replacements, not on insertions', () => {
  const tags: Record<string, string> = { a: 'DET', good: 'ADJ', great: 'ADJ', quickly: 'ADV', film: 'NOUN' };
  const tagger: PosTagger = { tag: (words) => words.map((w) => tags[w.toLowerCase()] ?? 'X') };
  // "a quickly film" pleases the victim more than "a great film", but changes the part of speech
  const victim = () => tableVictim({ 'a good film': 0.9, 'a great film': 0.3, 'a quickly film': 0.1 }, 0.9);
  const mlm = () => tableMlm({ 'mask 1 a good film': [['quickly', 0.5], ['great', 0.3]] });

  it('refuses an ADV for an ADJ, and takes it with partOfSpeech false', async () => {
    expect((await attack('bae', NO_SIM, victim(), mlm(), 'a good film', { tagger })).record.perturbed).toBe('a great film');
    expect((await attack('bae', { ...NO_SIM, partOfSpeech: false }, victim(), mlm(), 'a good film', { tagger })).record.perturbed).toBe('a quickly film');
  });

  it('an insertion (BAE-I) is not checked for part of speech; without a tagger the check is left out with a note', async () => {
    const { attack: a } = await buildTextAttack(registry, 'bae', { ...NO_SIM, operations: 'insert' }, { victim: victim(), resources: resources(mlm(), tagger) });
    const s = new TextState('a good film');
    expect(acceptCandidate(s, 1, 'quickly good', a.constraints)).toBe(true);
    expect(acceptCandidate(s, 1, 'quickly', a.constraints)).toBe(false);
    const none = await buildTextAttack(registry, 'bae', NO_SIM, { victim: victim(), resources: resources(mlm()) });
    expect(acceptCandidate(s, 1, 'quickly', none.attack.constraints)).toBe(true);
    expect(none.attack.notes).toContain('no part-of-speech constraint: these resources have no part-of-speech tagger');
  });
});

describe('swapsOnly', () => {
  it('lets insertions through both the synchronous and the batch check of the constraint it wraps', async () => {
    const asked: string[] = [];
    const inner = {
      name: 'refuse-all',
      allowCandidate: () => false,
      allowCandidates: async (items: readonly { word: string }[]) => items.map((it) => (asked.push(it.word), false)),
    };
    const c = swapsOnly(inner);
    const s = new TextState('a good film');
    expect(c.allowCandidate!(s, 1, 'great')).toBe(false);
    expect(c.allowCandidate!(s, 1, 'very good')).toBe(true);
    expect(await c.allowCandidates!([{ state: s, index: 1, word: 'great' }, { state: s, index: 1, word: 'good indeed' }, { state: s, index: 2, word: 'movie' }])).toEqual([false, true, false]);
    expect(asked).toEqual(['great', 'movie']);
  });
});

describe('candidates: min-confidence filter, whole words, case', () => {
  const tctx = { victim: tableVictim({}), goal: {} as never, rng: {} as never, counters: { gradientCalls: 0 } };
  const answers: Array<[string, number]> = [['Good', 0.4], ['great', 0.3], ['##ish', 0.1], [',', 0.05], ['42', 0.04], ['two words', 0.03], ['fine', 0.0004]];

  it('drops words below minConfidence (default 0: none), the current word, pieces, punctuation and numbers', async () => {
    const s = new TextState('A Good film');
    for (const [recipe, mode] of [['bae', 'mask'], ['bert-attack', 'unmasked']] as const) {
      const mlm = tableMlm({ [`${mode} 1 A Good film`]: answers });
      const words = async (options: Record<string, unknown>) => {
        const { attack: a } = await buildTextAttack(registry, recipe, { ...NO_SIM, ...options }, { victim: tableVictim({}), resources: resources(mlm) });
        await a.transformation.prepare!(s, [1], tctx);
        return a.transformation.candidates(s, [1], tctx).map((c) => c.word);
      };
      expect(await words({})).toEqual(['Great', 'Fine']);
      expect(await words({ minConfidence: 5e-4 })).toEqual(['Great']);
      expect(await words({ minConfidence: 0.35 })).toEqual([]);
    }
  });

  it('asks the model for maxCandidates words; candidates() before prepare() fails', async () => {
    const mlm = tableMlm({});
    const t = maskedLmSwap({ model: mlm, method: 'bert-attack', maxCandidates: 8 });
    const s = new TextState('a good film');
    expect(() => t.candidates(s, [1], tctx)).toThrow(/was not prepared/);
    await t.prepare(s, [1, 2], tctx);
    expect(mlm.calls).toEqual([[{ words: ['a', 'good', 'film'], index: 1, k: 8, mode: 'unmasked' }, { words: ['a', 'good', 'film'], index: 2, k: 8, mode: 'unmasked' }]]);
    await t.prepare(s, [2, 1], tctx);
    expect(mlm.calls.length).toBe(1); // answers kept: no second call for the same questions
  });
});

describe('one predictBatch call per search step', () => {
  it('BAE-R/I: each word tried is one call holding its mask and both insertions', async () => {
    const victim = fnVictim(() => 0.9); // nothing ever helps: every word is tried
    const mlm = fakeMlm((words, i, mode) => [[mode === 'mask' ? `x${words[i]}` : mode === 'insert-before' ? 'pre' : 'post', 0.5]]);
    const { record } = await attack('bae', { ...NO_SIM, operations: 'replace-insert' }, victim, mlm, 'alpha beta gamma');
    expect(record.status).toBe('failed');
    expect(mlm.calls.length).toBe(3);
    for (const call of mlm.calls) {
      expect(call.map((q) => q.mode)).toEqual(['mask', 'insert-before', 'insert-after']);
      expect(new Set(call.map((q) => q.index)).size).toBe(1);
    }
    expect(mlm.calls.map((c) => c[0].index).sort()).toEqual([0, 1, 2]);
    // each step scored its three candidates: 1 original + 3 deletions + 3 x 3 candidates
    expect(record.queries).toBe(1 + 3 + 9);
  });

  it('BERT-Attack: one unmasked question per step, asked about the text as it stands', async () => {
    const victim = fnVictim((t) => 0.97 - 0.1 * splitWords(t).filter((w) => w.text.startsWith('z')).length);
    const mlm = fakeMlm((words, i) => [[`z${words[i]}`, 0.9]]);
    await attack('bert-attack', { ...NO_SIM, maxModificationRate: 1 }, victim, mlm, 'alpha beta gamma');
    expect(mlm.calls.every((c) => c.length === 1 && c[0].mode === 'unmasked')).toBe(true);
    expect(mlm.calls.length).toBe(3);
    // the later questions see the earlier swaps
    expect(mlm.calls[2][0].words.filter((w) => w.startsWith('z')).length).toBe(2);
  });
});

describe('BAE-I grows the text by one word', () => {
  it('inserts the model word before or after the word, and the attack succeeds with it', async () => {
    const victim = tableVictim({ 'a good film': 0.9, 'a good enough film': 0.45, 'a not good film': 0.2 });
    const mlm = tableMlm({ 'insert-before 1 a good film': [['not', 0.6]], 'insert-after 1 a good film': [['enough', 0.3]] });
    const { record } = await attack('bae', { ...NO_SIM, operations: 'insert' }, victim, mlm, 'a good film');
    expect(record.status).toBe('successful');
    expect(record.perturbed).toBe('a not good film');
    expect(splitWords(record.perturbed).length).toBe(splitWords(record.original).length + 1);
    expect(record.changed).toEqual([{ start: 2, end: 6, before: 'good', after: 'not good' }]);
    expect(mlm.calls[0].map((q) => q.mode)).toEqual(['insert-before', 'insert-after']);
  });
});

describe('sentence similarity: parry/sentence-similarity with the recipes\' settings', () => {
  const seen: Array<Record<string, unknown>> = [];
  const spy = defineTextComponent({
    kind: 'constraint',
    name: 'parry/sentence-similarity',
    summary: 'spy',
    options: z.object({ minSimilarity: z.number().optional(), metric: z.string().optional(), window: z.union([z.number(), z.literal('all')]).optional(), skipShortTexts: z.boolean().optional(), compareAgainstOriginal: z.boolean().optional() }),
    create: (_ctx, o) => (seen.push(o), { name: 'spy-similarity', allowCandidate: () => true }),
  });
  const spyRegistry = createRegistry([...builtinTextAttacks, ...builtinTextComponents.filter((f) => f().name !== 'parry/sentence-similarity'), spy as unknown as PluginFactory]);

  it('BAE: cosine >= 0.936338023 with the original over 15-word windows, short texts pass; BERT-Attack: cosine >= 0.2 with the original text', async () => {
    seen.length = 0;
    const bae = await buildTextAttack(spyRegistry, 'bae', {}, { victim: tableVictim({}), resources: resources(tableMlm({})) });
    const bert = await buildTextAttack(spyRegistry, 'bert-attack', {}, { victim: tableVictim({}), resources: resources(tableMlm({})) });
    expect(seen[0]).toEqual({ minSimilarity: 0.936338023, metric: 'cosine', window: 15, skipShortTexts: true, compareAgainstOriginal: true });
    expect(seen[1]).toEqual({ minSimilarity: 0.2, metric: 'cosine', window: 'all', skipShortTexts: false, compareAgainstOriginal: true });
    expect(bae.attack.constraints.map((c) => c.name)).toContain('spy-similarity');
    expect(bert.attack.constraints.map((c) => c.name)).toContain('spy-similarity');
    const off = await buildTextAttack(spyRegistry, 'bae', NO_SIM, { victim: tableVictim({}), resources: resources(tableMlm({})) });
    expect(off.attack.constraints.map((c) => c.name)).not.toContain('spy-similarity');
  });
});

describe('notes', () => {
  it('say once which encoder the similarity check uses: the named one, else the word-vector fallback', async () => {
    const plain = await buildTextAttack(registry, 'bae', {}, { victim: tableVictim({}), resources: resources(tableMlm({})) });
    const all = [...(plain.attack.notes ?? []), ...plain.attack.constraints.flatMap((c) => (c.note ? [c.note] : []))];
    expect(all.filter((n) => /sentence similarity/.test(n))).toEqual([expect.stringMatching(/mean of word vectors .* 15-word windows, cosine >= 0.936338023/)]);
    const encoder = { name: 'toy-encoder', embed: async (texts: readonly string[]) => texts.map(() => Float32Array.of(1, 0)) };
    const named = await buildTextAttack(registry, 'bert-attack', {}, { victim: tableVictim({}), resources: { ...resources(tableMlm({})), sentenceEncoder: async () => encoder } });
    expect(named.attack.notes).toContain('sentence similarity: toy-encoder, cosine >= 0.2 with the original over the whole text; the threshold was set for the Universal Sentence Encoder');
    expect(named.attack.constraints.some((c) => c.note)).toBe(false);
  });
});

describe('budgets and refusals', () => {
  it('stops at the query budget, marked budget', async () => {
    const victim = fnVictim(() => 0.9);
    const mlm = fakeMlm((words, i) => [[`x${words[i]}`, 0.5], [`y${words[i]}`, 0.4]]);
    const { record } = await attack('bae', NO_SIM, victim, mlm, 'alpha beta gamma delta', { queryBudget: 7 });
    expect(record.queries).toBe(7);
    expect(victim.log.length).toBe(7);
    expect(record).toMatchObject({ status: 'failed', reason: 'budget' });
  });

  it('without a masked language model both recipes fail with the resources\' one line', async () => {
    for (const recipe of ['bae', 'bert-attack']) {
      const err = await buildTextAttack(registry, recipe, {}, { victim: tableVictim({}), resources: toyTextResources() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/no masked language model/);
    }
  });
});
