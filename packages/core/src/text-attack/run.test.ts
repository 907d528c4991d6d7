import { describe, expect, it } from 'vitest';
import type { SearchMethod, TextAttack, Transformation } from './contract.js';
import { flipAnyGoldGoal, untargetedGoal } from './goals.js';
import { runTextAttack } from './run.js';
import type { TextVictim } from './victim.js';

/** Bag-of-words sentiment: "good"/"great" push positive, "bad" negative. Logs every call. */
function victim(outputKind: 'single-label' | 'multi-label' = 'single-label'): TextVictim & { calls: string[][] } {
  const calls: string[][] = [];
  let queries = 0;
  const score = (t: string): number[] => {
    const w = t.split(/\s+/);
    const z = w.filter((x) => x === 'good' || x === 'great').length - w.filter((x) => x === 'bad').length;
    const p = 1 / (1 + Math.exp(-2 * z));
    return outputKind === 'multi-label' ? [p, 1 - p] : [1 - p, p];
  };
  return {
    name: 'bow',
    labelNames: ['neg', 'pos'],
    outputKind,
    calls,
    get queries() {
      return queries;
    },
    async predict(texts) {
      calls.push([...texts]);
      queries += texts.length;
      return Float32Array.from(texts.flatMap(score));
    },
  };
}

/** Replace a word by "bad", "meh" or "so" — several candidates per word, in a fixed order. */
const swap: Transformation = {
  name: 'swap',
  candidates: (state, indices) => indices.flatMap((index) => ['meh', 'so', 'bad'].map((word) => ({ index, word }))),
};

/** Greedy over words in a random order (uses the rng, so determinism per example is tested too). */
const randomGreedy: SearchMethod = {
  name: 'random-greedy',
  async run(initial, initialEval, ctx) {
    let state = initial;
    let best = initialEval;
    for (const i of ctx.rng.shuffle([...Array(state.numWords).keys()])) {
      const cands = ctx.transformation.candidates(state, [i], ctx).map((c) => state.replace(c.index, c.word));
      const evals = await ctx.evaluate(cands.map((c) => c.text));
      let k = -1;
      evals.forEach((e, j) => {
        if (e && e.score > best.score) {
          best = e;
          k = j;
        }
      });
      if (k >= 0) state = cands[k];
      if (best.success || ctx.exhausted) break;
    }
    return state;
  },
};

const attack = (goal = untargetedGoal()): TextAttack => ({ name: 'test/random-greedy', goal, transformation: swap, constraints: [], search: randomGreedy });
const EXAMPLES = [
  { text: 'a good film with a great cast and good music', label: 1 },
  { text: 'good', label: 1 },
  { text: 'the plot was bad', label: 0 },
  { text: 'great great good and a good ending', label: 1 },
  { text: 'good acting', label: 1 },
  { text: 'a fine film', label: 0 },
];

describe('runTextAttack: cross-example batching', () => {
  it('attacking several examples at once gives the same records and query counts in fewer model calls', async () => {
    const v1 = victim();
    const seq = await runTextAttack(attack(), v1, EXAMPLES, { seed: 3 });
    const v4 = victim();
    const par = await runTextAttack(attack(), v4, EXAMPLES, { seed: 3, concurrency: 4 });
    expect(par.records).toEqual(seq.records);
    expect(par.summary.totalQueries).toBe(seq.summary.totalQueries);
    expect(v4.queries).toBe(v1.queries);
    expect(par.records.reduce((s, r) => s + r.queries, 0)).toBe(v4.queries);
    expect(v4.calls.length).toBeLessThan(v1.calls.length);
    // some call really mixes candidates of different examples
    const owner = (t: string) => EXAMPLES.findIndex((e) => e.text.split(' ').length === t.split(' ').length);
    expect(v4.calls.slice(1).some((c) => new Set(c.map(owner)).size > 1)).toBe(true);
  });

  it('the query budget holds per example, with the same records as one at a time', async () => {
    const seq = await runTextAttack(attack(), victim(), EXAMPLES, { seed: 1, queryBudget: 4 });
    const par = await runTextAttack(attack(), victim(), EXAMPLES, { seed: 1, queryBudget: 4, concurrency: 3 });
    expect(par.records).toEqual(seq.records);
    for (const r of par.records) expect(r.queries).toBeLessThanOrEqual(4);
    expect(par.summary.budgetExhausted).toBeGreaterThan(0);
  });

  it('multi-label goals batch the same way; onExample reports every example once', async () => {
    const seen: number[] = [];
    const seq = await runTextAttack(attack(flipAnyGoldGoal()), victim('multi-label'), EXAMPLES.map((e) => ({ text: e.text, labels: [0] })), { seed: 2 });
    const par = await runTextAttack(attack(flipAnyGoldGoal()), victim('multi-label'), EXAMPLES.map((e) => ({ text: e.text, labels: [0] })), {
      seed: 2,
      concurrency: 6,
      onExample: (r, done, total) => {
        seen.push(r.index);
        expect(done).toBe(seen.length);
        expect(total).toBe(EXAMPLES.length);
      },
    });
    expect(par.records).toEqual(seq.records);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a failing victim call rejects the run, and a bad concurrency is refused with one line', async () => {
    const broken: TextVictim = { ...victim(), predict: async (t) => (t.length > 1 && t.length < 6 ? Promise.reject(new Error('model down')) : new Float32Array(t.length * 2).fill(0.5)) };
    await expect(runTextAttack(attack(), broken, EXAMPLES, { concurrency: 3 })).rejects.toThrow(/model down/);
    await expect(runTextAttack(attack(), victim(), EXAMPLES, { concurrency: 0 })).rejects.toThrow(/concurrency must be a positive integer, got 0/);
  });
});

describe('runTextAttack: texts cut by the model token limit', () => {
  it('searches only the words the model sees, records how many it saw, and says so in the summary', async () => {
    // the model sees the first 3 words only: the "good" at word 5 is invisible, the one at word 1 decides
    const v = victim();
    const cut: TextVictim = {
      ...v,
      get queries() {
        return v.queries;
      },
      predict: (texts) => v.predict(texts.map((t) => t.split(' ').slice(0, 3).join(' '))),
      visibleWords: (text) => Math.min(3, text.split(' ').length),
    };
    const examples = [
      { text: 'a good film and a good cast', label: 1 },
      { text: 'good acting', label: 1 },
    ];
    const { records, summary } = await runTextAttack(attack(), cut, examples, { seed: 0 });
    expect(records[0].visibleWords).toBe(3);
    expect(records[1].visibleWords).toBeUndefined();
    for (const r of records) for (const c of r.changed) expect(r.original.slice(0, c.start).split(' ').length - 1).toBeLessThan(3);
    expect(records[0].status).toBe('successful');
    expect(records[0].changed.map((c) => c.before)).toContain('good');
    expect(records[0].perturbed.endsWith('a good cast')).toBe(true); // the invisible words are untouched
    expect(summary.truncated).toBe(1);
    expect(summary.notes.join(' ')).toMatch(/1 of 2 texts were cut by the model's token limit/);
    // perturbed words % over the visible words: 1 of 3, and 1 of 2 for the untruncated one
    const pct = records.filter((r) => r.status === 'successful').map((r) => (100 * r.modifiedWords) / (r.visibleWords ?? r.words));
    expect(summary.avgPerturbedWordPct).toBeCloseTo(pct.reduce((a, b) => a + b, 0) / pct.length, 10);
  });
});

describe('runTextAttack: visible words that are not a prefix (tail and head+tail truncation)', () => {
  /** Greedy over the words the constraints allow, left to right (so a search that ignored them would change word 0 first). */
  const allowedGreedy: SearchMethod = {
    name: 'allowed-greedy',
    async run(initial, initialEval, ctx) {
      let state = initial;
      let best = initialEval;
      for (let i = 0; i < state.numWords; i++) {
        if (!ctx.constraints.every((c) => !c.allowIndex || c.allowIndex(state, i))) continue;
        const cands = ctx.transformation.candidates(state, [i], ctx).map((c) => state.replace(c.index, c.word));
        const evals = await ctx.evaluate(cands.map((c) => c.text));
        let k = -1;
        evals.forEach((e, j) => {
          if (e && e.score > best.score) {
            best = e;
            k = j;
          }
        });
        if (k >= 0) state = cands[k];
        if (best.success || ctx.exhausted) break;
      }
      return state;
    },
  };
  const greedy = (): TextAttack => ({ name: 'test/allowed-greedy', goal: untargetedGoal(), transformation: swap, constraints: [], search: allowedGreedy });
  // the victim scores every word, so only the visible-words constraint keeps the search off the cut ones
  const withVisible = (visibleWords: TextVictim['visibleWords']): TextVictim => {
    const v = victim();
    return { ...v, get queries() { return v.queries; }, predict: (t) => v.predict(t), visibleWords };
  };
  const text = 'good good good good good good';

  it('a { head: 0, tail } answer (tail truncation): the first words are never changed; perturbed words % over the tail', async () => {
    const tailText = 'good a a good good';
    const { records, summary } = await runTextAttack(greedy(), withVisible(() => ({ head: 0, tail: 2 })), [{ text: tailText, label: 1 }]);
    const r = records[0];
    expect(r.visibleWords).toBe(2);
    expect(r.visibleTailWords).toBe(2);
    expect(r.status).toBe('successful');
    expect(r.changed.map((c) => c.start)).toEqual([9, 14]); // the last two words; word 0 ("good") was never touched
    expect(r.perturbed.startsWith('good a a ')).toBe(true);
    expect(summary.truncated).toBe(1);
    expect(summary.avgPerturbedWordPct).toBeCloseTo((100 * r.modifiedWords) / 2, 10);
  });

  it('a { head, tail } answer (head+tail truncation): the middle words are never changed', async () => {
    const { records } = await runTextAttack(greedy(), withVisible(() => ({ head: 1, tail: 1 })), [{ text, label: 1 }]);
    const r = records[0];
    expect(r.visibleWords).toBe(2);
    expect(r.visibleTailWords).toBe(1);
    // words 1..4 are cut: "good" there stays, so the score cannot fall below 4 goods vs 2 bads
    expect(r.perturbed.split(' ').slice(1, 5)).toEqual(['good', 'good', 'good', 'good']);
    expect(r.changed.map((c) => c.start)).toEqual([0, text.length - 4]);
    expect(r.status).toBe('failed');
  });

  it('a plain number (a victim written before head/tail answers) still means the leading words', async () => {
    const { records } = await runTextAttack(greedy(), withVisible(() => 2), [{ text, label: 1 }]);
    expect(records[0].visibleWords).toBe(2);
    expect(records[0].visibleTailWords).toBeUndefined();
    expect(records[0].perturbed.endsWith('good good good good')).toBe(true);
  });

  it('answers covering every word are not truncation', async () => {
    const { records, summary } = await runTextAttack(greedy(), withVisible(() => ({ head: 4, tail: 3 })), [{ text, label: 1 }]);
    expect(records[0].visibleWords).toBeUndefined();
    expect(summary.truncated).toBe(0);
  });
});
