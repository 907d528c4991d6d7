/**
 * BAE and BERT-Attack with a real (tiny, random) masked language model of @parry/text instead of a fake: every
 * replacement or insertion the attacks return is one of the model's top-k words for that word, asked in the recipe's
 * mode (BAE: masked; BAE-I: a mask inserted; BERT-Attack: unmasked); the recipe's constraints hold on every returned
 * example; the query counts are exact; no tensor is left behind (issue 15).
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildTextAttack, createRegistry, initBackend, type MaskedLanguageModel, type MaskedLmQuery, runTextAttack } from '@parry/core';
import { checkTextConstraints, checkTextGoals, checkTextQueries, instrumentTextAttack, recordingVictim, toyTextExamples, toyTextResources, toyTextVictim } from '@parry/core/testing';
import { createMaskedLanguageModel, createMaskedLm, smallConfig, wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinTextAttacks, builtinTextComponents } from '../index.js';

const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ',', '.', '!',
  'the', 'a', 'was', 'but', 'film', 'movie', 'picture', 'cast', 'plot', 'story',
  'good', 'fine', 'nice', 'decent', 'great', 'grand', 'excellent', 'superb', 'splendid',
  'bad', 'poor', 'weak', 'long', 'lengthy', 'short', 'brief', 'slow', '##ly',
];

/** The model's answers, logged by question. */
function logged(lm: MaskedLanguageModel): MaskedLanguageModel & { answers: Array<{ q: MaskedLmQuery; words: string[] }> } {
  const answers: Array<{ q: MaskedLmQuery; words: string[] }> = [];
  return {
    name: lm.name,
    answers,
    predict: (w, i, k) => lm.predict(w, i, k),
    async predictBatch(queries) {
      const out = await lm.predictBatch(queries);
      queries.forEach((q, n) => answers.push({ q: { ...q, words: [...q.words] }, words: out[n].map((c) => c.word) }));
      return out;
    },
  };
}

describe('bae / bert-attack with a real masked language model (tiny, random weights)', () => {
  let base: MaskedLanguageModel;
  let dispose: () => void;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
    const config = smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 32, initializerRange: 0.5 });
    const mlm = createMaskedLm(config, { seed: 11 });
    dispose = () => mlm.dispose();
    base = createMaskedLanguageModel(mlm, wordPieceTokenizer(VOCAB));
  });
  afterAll(() => dispose());

  const registry = createRegistry([...builtinTextAttacks, ...builtinTextComponents]);
  // k well below the vocabulary, so the model's top-k is a real choice among its words
  const cases = [
    { recipe: 'bae', options: { maxCandidates: 6 }, modes: ['mask'], k: 6 },
    { recipe: 'bae', options: { maxCandidates: 6, operations: 'replace-insert' }, modes: ['mask', 'insert-before', 'insert-after'], k: 6 },
    { recipe: 'bert-attack', options: { maxCandidates: 6 }, modes: ['unmasked'], k: 6 },
  ] as const;

  for (const { recipe, options, modes, k } of cases) {
    it(`${recipe} ${JSON.stringify(options)}: model top-k candidates only, constraints hold, exact queries, no leaks`, async () => {
      const lm = logged(base);
      const examples = toyTextExamples('single-label');
      const victim = recordingVictim(toyTextVictim());
      const built = await buildTextAttack(registry, recipe, options, { victim, resources: { ...toyTextResources(), maskedLm: async () => lm } });
      const { attack, trace } = instrumentTextAttack(built.attack);
      const perExample: string[][] = [];
      let mark = 1;
      const tensors = tf.memory().numTensors;
      const { records, summary } = await runTextAttack(attack, victim, examples, {
        seed: 5,
        concurrency: 1, // so the victim's log can be split by example
        onExample: () => {
          perExample.push(victim.calls.slice(mark).flat());
          mark = victim.calls.length;
        },
      });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(summary.successful, 'some example is flipped').toBeGreaterThan(0);
      await checkTextGoals(records, examples, { kind: 'untargeted' }, toyTextVictim());
      checkTextConstraints(records, built.attack.constraints, trace);
      checkTextQueries(records, summary, victim, perExample);
      // every question had the recipe's mode and k; every change is a word the model answered for that word
      expect(lm.answers.length).toBeGreaterThan(0);
      for (const { q } of lm.answers) {
        expect(modes).toContain(q.mode ?? 'mask');
        expect(q.k).toBe(k);
      }
      let changes = 0;
      for (const r of records) {
        for (const c of r.changed) {
          changes++;
          const fromModel = lm.answers.some(({ q, words }) => {
            if (q.words[q.index] !== c.before) return false;
            const mode = q.mode ?? 'mask';
            const want = mode === 'insert-before' ? c.after.replace(/ \S+$/, '') : mode === 'insert-after' ? c.after.replace(/^\S+ /, '') : c.after;
            const shape = mode === 'insert-before' ? `${want} ${c.before}` : mode === 'insert-after' ? `${c.before} ${want}` : want;
            return shape.toLowerCase() === c.after.toLowerCase() && words.includes(want.toLowerCase());
          });
          expect(fromModel, `${r.original}: ${c.before} -> ${c.after} is one of the model's answers`).toBe(true);
        }
      }
      expect(changes).toBeGreaterThan(0);
    });
  }
});
