/**
 * The text conformance kit of `@parry/core/testing` over the built-in recipes (PWWS, TextFooler, DeepWordBug; HotFlip
 * for the white-box refusal) and one recipe composed from registered components; then a few broken recipes and
 * records, to show each check of the kit can fail.
 */
import { composeTextAttack, type Constraint, defineTextAttack, type MaskedLanguageModel, type MaskedLmQuery, runTextAttack, type SearchMethod, TextState, z } from '@parry/core';
import {
  checkTextBudget,
  checkTextConstraints,
  checkTextGoals,
  checkTextQueries,
  describeTextAttackConformance,
  instrumentTextAttack,
  recordingVictim,
  toyTextExamples,
  toyTextResources,
  toyTextVictim,
} from '@parry/core/testing';
import { describe, expect, it } from 'vitest';
import { builtinTextComponents, charEditSwap, greedyWir, noRepeat, stopwords } from '../index.js';
import { bae, bertAttack, deepWordBug, hotFlip, pwws, textFooler } from './recipes/index.js';

const components = builtinTextComponents;

describeTextAttackConformance(pwws, { components });
describeTextAttackConformance(textFooler, { components });
describeTextAttackConformance(deepWordBug, { components });
describeTextAttackConformance(hotFlip, { components });

/**
 * A deterministic stand-in for a masked language model over the toy vocabulary: a masked or unmasked word's candidates
 * are the other words of its synonym group (then "very"), scores falling by rank; an inserted mask gets "not" before
 * and "indeed" after the word. Unmasked answers start with the word itself, as a real MLM's do.
 */
function toyMaskedLm(): MaskedLanguageModel {
  const groups = [['good', 'fine', 'decent', 'nice'], ['great', 'grand'], ['excellent', 'superb', 'splendid'], ['bad', 'poor', 'weak'], ['long', 'lengthy'], ['short', 'brief'], ['film', 'movie', 'picture'], ['team', 'squad', 'side'], ['match', 'game', 'fixture'], ['vote', 'ballot', 'poll'], ['rain', 'shower', 'drizzle']];
  const answer = (q: MaskedLmQuery) => {
    const w = q.words[q.index].toLowerCase();
    const group = groups.find((g) => g.includes(w)) ?? [];
    const words = q.mode === 'insert-before' ? ['not'] : q.mode === 'insert-after' ? ['indeed'] : [...(q.mode === 'unmasked' ? [w] : []), ...group.filter((x) => x !== w), 'very'];
    return words.slice(0, q.k).map((word, r) => ({ word, score: 0.5 / (r + 1) }));
  };
  return { name: 'toy masked LM', predict: async (words, index, k) => answer({ words, index, k }), predictBatch: async (queries) => queries.map(answer) };
}
const mlmResources = () => ({ ...toyTextResources(), maskedLm: async () => toyMaskedLm() });
describeTextAttackConformance(bae, { components, resources: mlmResources });
describeTextAttackConformance(bae, { components, resources: mlmResources, options: { operations: 'replace-insert' } });
describeTextAttackConformance(bertAttack, { components, resources: mlmResources });

/** Composed from registered components only: WordNet swaps, at most two words, beam search of width 3. */
const composed = composeTextAttack({
  name: 'test/wordnet-beam',
  summary: 'composed test recipe: WordNet swaps, stopwords, two words at most, beam search',
  options: z.object({ width: z.number().int().positive().default(3) }),
  transformation: 'parry/wordnet-swap',
  constraints: ['parry/stopwords', { name: 'parry/max-words-perturbed', options: { max: 2 } }],
  search: (o) => ({ name: 'parry/beam', options: { width: o.width } }),
});
describeTextAttackConformance(composed, { components });

describe('the text conformance checks can fail', () => {
  const examples = toyTextExamples('single-label');
  const resources = toyTextResources();
  const words = resources.stopwords();

  /** A search that changes the first word whatever the constraints say (here a stopword). */
  const rogueSearch: SearchMethod = {
    name: 'rogue',
    async run(initial, _e, ctx) {
      const next = initial.replace(0, 'Zzz');
      await ctx.evaluate([next.text]);
      return next;
    },
  };

  it('checkTextConstraints refuses a changed stopword and an edit the transformation never proposed', async () => {
    const victim = toyTextVictim();
    const constraints: Constraint[] = [noRepeat(), stopwords({ words })];
    const { attack, trace } = instrumentTextAttack({ name: 'rogue', goal: { name: 'untargeted', outputKind: 'single-label', bind: () => ({ score: () => 0, success: () => false, tfScore: () => undefined as never }) }, transformation: charEditSwap(), constraints, search: rogueSearch });
    const { records } = await runTextAttack(attack, victim, examples.slice(0, 1));
    expect(records[0].changed[0].before).toBe('The');
    expect(() => checkTextConstraints(records, constraints, trace)).toThrow(/stopwords forbids modifying word 0/);
    expect(() => checkTextConstraints(records, [], trace)).toThrow(/never proposed by the transformation/);
  });

  it('checkTextConstraints refuses a word changed twice under no-repeat', () => {
    const original = 'The film was good but long.';
    const state = new TextState(original).replace(3, 'goood').replace(3, 'gooood');
    const trace = { fromOriginal: new Map([[original, new Map([[3, new Set(['goood'])]])]]), any: new Map([[original, new Map([[3, new Set(['goood', 'gooood'])]])]]), finals: new Map([[original, state]]) };
    const record = { index: 0, original, perturbed: state.text, status: 'successful' as const, queries: 3, gradientCalls: 0, words: 6, modifiedWords: 1, changed: state.changes().map(({ index: _i, ...c }) => c), originalProbs: [], perturbedProbs: [], originalPrediction: [], perturbedPrediction: [] };
    expect(() => checkTextConstraints([record], [noRepeat()], trace)).toThrow(/never proposed by the transformation for the original word/);
    expect(() => checkTextConstraints([record], [], trace)).not.toThrow();
  });

  it('checkTextGoals refuses a success the victim does not confirm', async () => {
    const lying = defineTextAttack({
      name: 'test/lying',
      summary: 'claims success',
      options: z.object({}),
      create: (ctx) => ({ name: 'test/lying', goal: ctx.goal, transformation: charEditSwap(), constraints: [], search: greedyWir() }),
    })();
    const victim = toyTextVictim();
    const attack = await lying.create({ victim, goal: { name: 'untargeted', outputKind: 'single-label', bind: () => ({ score: () => 0, success: () => true, tfScore: () => undefined as never }) }, resources, component: () => Promise.reject(new Error('unused')) });
    const { records } = await runTextAttack(attack, victim, examples);
    expect(records.every((r) => r.status === 'skipped')).toBe(true);
    await expect(checkTextGoals(records, examples, { kind: 'untargeted' }, toyTextVictim())).rejects.toThrow(/skipped, but goal untargeted does not hold/);
  });

  it('checkTextQueries refuses queries the runner did not count, and checkTextBudget an overspent budget', async () => {
    const inner = toyTextVictim();
    const victim = recordingVictim(inner);
    const sneaky: SearchMethod = {
      name: 'sneaky',
      async run(initial, _e, ctx) {
        await ctx.victim.predict(['an extra query the cache never saw']);
        return initial;
      },
    };
    const attack = { name: 'sneaky', goal: { name: 'untargeted', outputKind: 'single-label' as const, bind: () => ({ score: () => 0, success: () => false, tfScore: () => undefined as never }) }, transformation: charEditSwap(), constraints: [], search: sneaky };
    const perExample: string[][] = [];
    let mark = 1;
    const { records, summary } = await runTextAttack(attack, victim, examples.slice(0, 2), {
      queryBudget: 1,
      onExample: () => {
        perExample.push(victim.calls.slice(mark).flat());
        mark = victim.calls.length;
      },
    });
    // The runner counts the texts it sends (so concurrent examples can be attributed): the search's own model call is
    // in no record, and the kit sees the victim count more queries than the records add up to.
    expect(records.map((r) => r.queries)).toEqual([1, 1]);
    expect(() => checkTextQueries(records, summary, victim, perExample)).toThrow(/the records' queries add up to 2, the victim counted 4/);
    // with honest records, the other checks still bite: a wrong summary, a miscounted example, an overspent budget
    const honest = await runTextAttack({ ...attack, search: { name: 'none', run: async (initial) => initial } }, recordingVictim(toyTextVictim()), examples.slice(0, 2));
    expect(() => checkTextQueries(honest.records, { totalQueries: honest.summary.totalQueries - 1 }, recordingVictim(toyTextVictim()), [[], []])).toThrow(/summary reports|victim .* counts/);
    expect(() => checkTextBudget(records, records.map((r) => ({ ...r, queries: 2 })), 1)).toThrow(/spent 2 queries/);
  });
});
