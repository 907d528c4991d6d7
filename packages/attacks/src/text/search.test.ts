import { describe, expect, it } from 'vitest';
import { flipAnyGoldGoal, flipLabelGoal, removeAllGoldGoal, runTextAttack, type TextAttack, type TextVictim, targetedGoal, untargetedGoal } from '@parry/core';
import { noRepeat } from './constraints.js';
import { beamSearch, greedyWir } from './search.js';
import { wordNetSwap } from './transformations.js';

/** A scores-only victim that logs every text it scores. */
function fakeVictim(labelNames: string[], multiLabel: boolean, probs: (text: string) => number[]): TextVictim & { log: string[] } {
  const log: string[] = [];
  return {
    name: 'fake',
    labelNames,
    outputKind: multiLabel ? 'multi-label' : 'single-label',
    log,
    get queries() {
      return log.length;
    },
    async predict(texts) {
      log.push(...texts);
      return Float32Array.from(texts.flatMap(probs));
    },
  };
}

/** Positive exactly when the word "great" occurs. */
const keyed = () => fakeVictim(['neg', 'pos'], false, (t) => (/\bgreat\b/i.test(t) ? [0.1, 0.9] : [0.7, 0.3]));
const swapAll = wordNetSwap({ synonyms: () => ['zzz', 'yyy'] });

const attackWith = (search: TextAttack['search'], goal = untargetedGoal()): TextAttack => ({
  name: 'test',
  goal,
  transformation: swapAll,
  constraints: [noRepeat()],
  search,
});

describe('greedy search with word-importance ranking', () => {
  it('finds the single decisive word, with exact query counts', async () => {
    const v = keyed();
    const { records } = await runTextAttack(attackWith(greedyWir({ wir: 'delete' })), v, [{ text: 'The movie was great and fun.', label: 1 }]);
    const r = records[0];
    expect(r.status).toBe('successful');
    expect(r.changed).toEqual([{ start: 14, end: 19, before: 'great', after: 'zzz' }]);
    expect(r.perturbed).toBe('The movie was zzz and fun.');
    expect(r.originalPrediction).toEqual(['pos']);
    expect(r.perturbedPrediction).toEqual(['neg']);
    // 1 original + 6 deletions for the ranking + 2 candidates at "great" (ranked first)
    expect(r.queries).toBe(9);
    expect(v.queries).toBe(9);
    expect(new Set(v.log).size).toBe(v.log.length);
  });

  it('unk and PWWS rankings find it too, and the cache never scores a text twice', async () => {
    for (const wir of ['unk', 'weighted-saliency'] as const) {
      const v = keyed();
      const { records } = await runTextAttack(attackWith(greedyWir({ wir })), v, [{ text: 'so great a film', label: 1 }]);
      expect(records[0].status).toBe('successful');
      expect(records[0].changed.map((c) => c.before)).toEqual(['great']);
      expect(records[0].queries).toBe(v.queries);
      expect(new Set(v.log).size).toBe(v.log.length);
    }
  });

  it('a repeated candidate costs no query with the cache, and one query each time with cache: false', async () => {
    const text = 'so great a film';
    // A search that asks for the same candidate three times, then returns it.
    const repeat: TextAttack['search'] = {
      name: 'repeat',
      async run(initial, _e, ctx) {
        const cand = initial.replace(1, 'zzz');
        for (let k = 0; k < 3; k++) await ctx.evaluate([cand.text, cand.text]);
        return cand;
      },
    };
    const cached = keyed();
    const a = await runTextAttack(attackWith(repeat), cached, [{ text, label: 1 }]);
    expect(a.records[0].queries).toBe(2); // the original + the candidate once
    expect(cached.log).toEqual([text, 'so zzz a film']);
    const uncached = keyed();
    const b = await runTextAttack(attackWith(repeat), uncached, [{ text, label: 1 }], { cache: false });
    expect(b.records[0].queries).toBe(7); // the original + 6 requests
    expect(uncached.queries).toBe(7);
    expect(b.records[0].status).toBe('successful');
  });

  it('stops at the query budget (failed: budget), and skips examples already misclassified', async () => {
    const v = keyed();
    const { records, summary } = await runTextAttack(
      attackWith(greedyWir({ wir: 'delete' })),
      v,
      [
        { text: 'The movie was great and fun.', label: 1 },
        { text: 'a dull film', label: 1 },
        { text: 'what a great film', label: 1 },
      ],
      { queryBudget: 4 },
    );
    expect(records.map((r) => r.status)).toEqual(['failed', 'skipped', 'failed']);
    expect(records[0].reason).toBe('budget');
    expect(records.map((r) => r.queries)).toEqual([4, 1, 4]);
    expect(v.queries).toBe(9);
    expect(summary.totalQueries).toBe(9);
    expect(summary).toMatchObject({ n: 3, successful: 0, failed: 2, skipped: 1, budgetExhausted: 2, attackSuccessRate: 0, avgQueries: 4 });
    expect(summary.originalAccuracy).toBeCloseTo(2 / 3);
    expect(summary.accuracyUnderAttack).toBeCloseTo(2 / 3);
  });

  it('summary: success rate, perturbed word % and words per input', async () => {
    const v = keyed();
    const { summary } = await runTextAttack(attackWith(greedyWir({ wir: 'delete' })), v, [
      { text: 'The movie was great and fun.', label: 1 },
      { text: 'a dull film', label: 1 },
    ]);
    expect(summary).toMatchObject({ successful: 1, failed: 0, skipped: 1, attackSuccessRate: 1, accuracyUnderAttack: 0, avgQueries: 9 });
    expect(summary.avgPerturbedWordPct).toBeCloseTo(100 / 6);
    expect(summary.avgWordsPerInput).toBeCloseTo(4.5);
  });

  it('targeted goal: reaches the target class', async () => {
    const v = keyed();
    const { records } = await runTextAttack(attackWith(greedyWir({ wir: 'delete' }), targetedGoal({ target: 0 })), v, [{ text: 'great stuff', label: 1 }]);
    expect(records[0].status).toBe('successful');
    // a margin larger than any reachable gap fails
    const hard = await runTextAttack(attackWith(greedyWir({ wir: 'delete' }), targetedGoal({ target: 0, margin: 0.5 })), keyed(), [{ text: 'great stuff', label: 1 }]);
    expect(hard.records[0].status).toBe('failed');
  });
});

describe('beam search', () => {
  it('finds the decisive word; query count equals distinct texts scored', async () => {
    const v = keyed();
    const { records } = await runTextAttack(attackWith(beamSearch({ width: 3 })), v, [{ text: 'a great movie', label: 1 }]);
    expect(records[0].status).toBe('successful');
    expect(records[0].changed.map((c) => c.before)).toEqual(['great']);
    expect(records[0].queries).toBe(1 + 6); // original + 3 words x 2 candidates, one step
    expect(v.queries).toBe(7);
  });
});

describe('multi-label goals', () => {
  const names = ['joy', 'anger', 'fear'];
  const keys = [/\bhappy\b/, /\bangry\b/, /\bscared\b/];
  const multi = () => fakeVictim(names, true, (t) => keys.map((k) => (k.test(t) ? 0.9 : 0.1)));
  const swaps = wordNetSwap({ synonyms: () => ['zzz', 'scared'] });
  const attack = (goal: TextAttack['goal']): TextAttack => ({ name: 'ml', goal, transformation: swaps, constraints: [noRepeat()], search: greedyWir({ wir: 'delete' }) });
  const ex = [{ text: 'I am happy and angry today', labels: [0, 1] }];

  it('flip any gold label: one gold label removed', async () => {
    const { records } = await runTextAttack(attack(flipAnyGoldGoal()), multi(), ex);
    expect(records[0].status).toBe('successful');
    expect(records[0].modifiedWords).toBe(1);
    expect(records[0].perturbedPrediction.length).toBeLessThan(2);
  });

  it('remove all gold labels: both keywords replaced; summary micro-F1 and per-label flips', async () => {
    const { records, summary } = await runTextAttack(attack(removeAllGoldGoal()), multi(), ex);
    const r = records[0];
    expect(r.status).toBe('successful');
    expect(r.changed.map((c) => c.before).sort()).toEqual(['angry', 'happy']);
    expect(r.perturbedPrediction).not.toContain('joy');
    expect(r.perturbedPrediction).not.toContain('anger');
    expect(summary.multiLabel!.microF1Before).toBe(1);
    expect(summary.multiLabel!.microF1After).toBeLessThan(0.5);
    expect(summary.multiLabel!.perLabel.find((p) => p.label === 'joy')!.flipRate).toBe(1);
  });

  it('flip a given non-gold label: fear switched on', async () => {
    const { records } = await runTextAttack(attack(flipLabelGoal({ label: 2 })), multi(), ex);
    expect(records[0].status).toBe('successful');
    expect(records[0].perturbedPrediction).toContain('fear');
    expect(records[0].changed.map((c) => c.after)).toEqual(['scared']);
  });

  it('goals refuse a mismatched victim and missing labels with one line', async () => {
    await expect(runTextAttack(attack(untargetedGoal()), multi(), ex)).rejects.toThrow(/single-label models/);
    await expect(runTextAttack(attackWith(greedyWir()), keyed(), [{ text: 'a great film' }])).rejects.toThrow(/needs a class label/);
  });
});
