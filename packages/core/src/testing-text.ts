/**
 * Text half of the test kit (`@parry/core/testing`): a toy bag-of-words victim, toy word resources and the
 * conformance suite every text-attack recipe, built-in or third-party, passes. No tfjs model and no downloads: the
 * victim is a pure-JS classifier and the resources are built in memory, so a recipe's suite runs in seconds.
 *
 * The suite re-checks, on the runner's returned records: the goal (re-scored by a fresh victim), the recipe's own
 * constraints (replayed on the returned changes), exact query counts (against the victim's own log), the query
 * budget, determinism with a seed, no leaked tensors, option validation and the plain-object plugin shape. The
 * checks are also exported one by one (`checkTextGoals`, `checkTextConstraints`, `checkTextQueries`,
 * `checkTextBudget`) so a recipe's own tests can call them on records of their choosing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendName } from './backend.js';
import { UsageError } from './errors.js';
import type { OutputKind } from './model.js';
import type { PluginFactory, TextAttackPlugin } from './plugin.js';
import { Registry, validatePluginShape } from './registry.js';
import { buildTextAttack } from './text-attack/build.js';
import type { Constraint, TextAttack, Transformation } from './text-attack/contract.js';
import { type GoalKind, type GoalSpec, GOAL_KINDS, goalFunction, isMultiLabelGoal } from './text-attack/goals.js';
import { TEXT_RESOURCES, type TextResources, type WordVectors } from './text-attack/resources.js';
import { runTextAttack, type TextAttackExample, type TextAttackRecord, type TextAttackSummary } from './text-attack/run.js';
import type { TextVictim } from './text-attack/victim.js';
import { splitWords, TextState } from './text-attack/words.js';

// ---------------------------------------------------------------------------------------------------------------
// Toy victim
// ---------------------------------------------------------------------------------------------------------------

/** Sentiment weights `[negative, positive]`; words not listed weigh nothing (so a typo removes a word's vote). */
const SENTIMENT_WEIGHTS: Record<string, readonly number[]> = {
  good: [0, 2],
  fine: [0, 0.2],
  decent: [0, 0.3],
  nice: [0, 0.4],
  great: [0, 1.5],
  grand: [0, 0.3],
  excellent: [0, 2],
  superb: [0, 2],
  splendid: [0, 2],
  bad: [0, -2],
  poor: [0, -0.3],
  weak: [0, -0.2],
  long: [0, -0.6],
  lengthy: [0, -0.6],
  short: [0, 0.6],
  brief: [0, 0.6],
  slow: [0, -1],
};

/** Topic weights `[sports, politics, weather]` (per-label sigmoid). */
const TOPIC_WEIGHTS: Record<string, readonly number[]> = {
  team: [2.5, 0, 0],
  squad: [0.3, 0, 0],
  side: [0.2, 0, 0],
  match: [2.5, 0, 0],
  game: [0.4, 0, 0],
  fixture: [0.3, 0, 0],
  vote: [0, 2.5, 0],
  ballot: [0, 0.3, 0],
  poll: [0, 0.4, 0],
  rain: [0, 0, 2.5],
  shower: [0, 0, 0.3],
  drizzle: [0, 0, 0.2],
};

export interface ToyTextVictimOptions {
  /** `single-label` (softmax, default: sentiment, `negative`/`positive`) or `multi-label` (sigmoid, default: topics `sports`/`politics`/`weather`). */
  outputKind?: OutputKind;
  labelNames?: string[];
  /** Lower-case word -> one weight per label; the logits are bias + the sum over the words of the text. */
  weights?: Record<string, readonly number[]>;
  /** One bias per label (default 0 for single-label, -1 for multi-label). */
  bias?: readonly number[];
  name?: string;
}

/** The toy victim: a {@link TextVictim} that also keeps every text it scored, in order. */
export interface ToyTextVictim extends TextVictim {
  /** Every text passed to `predict`, in order (`texts.length === queries`). */
  readonly texts: readonly string[];
}

/**
 * A deterministic pure-JS bag-of-words classifier: lower-cased words (as `splitWords` splits them) each add their
 * weights to the logits, then softmax (single-label) or per-label sigmoid (multi-label). Every text passed to
 * `predict` counts as one query, exactly. Black-box (no `whiteBox`); needs no backend.
 */
export function toyTextVictim(options: ToyTextVictimOptions = {}): ToyTextVictim {
  const outputKind = options.outputKind ?? 'single-label';
  const multi = outputKind === 'multi-label';
  const labelNames = options.labelNames ?? (multi ? ['sports', 'politics', 'weather'] : ['negative', 'positive']);
  const L = labelNames.length;
  const weights = new Map(Object.entries(options.weights ?? (multi ? TOPIC_WEIGHTS : SENTIMENT_WEIGHTS)).map(([w, v]) => [w.toLowerCase(), v]));
  for (const [w, v] of weights) if (v.length !== L) throw new UsageError(`toyTextVictim: word "${w}" has ${v.length} weights for ${L} labels`);
  const bias = options.bias ?? new Array(L).fill(multi ? -1 : 0);
  if (bias.length !== L) throw new UsageError(`toyTextVictim: ${bias.length} biases for ${L} labels`);
  const texts: string[] = [];
  const score = (text: string, out: Float32Array, at: number) => {
    const z = bias.slice();
    for (const { text: word } of splitWords(text)) {
      const w = weights.get(word.toLowerCase());
      if (w) for (let j = 0; j < L; j++) z[j] += w[j];
    }
    if (multi) {
      for (let j = 0; j < L; j++) out[at + j] = 1 / (1 + Math.exp(-z[j]));
    } else {
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < L; j++) out[at + j] = e[j] / s;
    }
  };
  return {
    name: options.name ?? `toy-bag-of-words(${outputKind})`,
    labelNames,
    outputKind,
    get queries() {
      return texts.length;
    },
    get texts() {
      return texts;
    },
    async predict(batch) {
      const out = new Float32Array(batch.length * L);
      batch.forEach((t, k) => {
        if (typeof t !== 'string') throw new TypeError(`toyTextVictim.predict: texts must be strings, got ${typeof t}`);
        texts.push(t);
        score(t, out, k * L);
      });
      return out;
    },
  };
}

/**
 * The toy examples matching the toy victim's default weights: single-label sentiment (label = gold class; one
 * example the victim already gets wrong, so it is skipped; one that synonym swaps cannot flip) or multi-label topics
 * (labels = gold label ids).
 */
export function toyTextExamples(outputKind: OutputKind = 'single-label'): TextAttackExample[] {
  if (outputKind === 'multi-label') {
    return [
      { text: 'The team won the vote.', labels: [0, 1] },
      { text: 'Heavy rain hit the match.', labels: [0, 2] },
      { text: 'The team played.', labels: [1] },
      { text: 'Team, team and match!', labels: [0] },
    ];
  }
  return [
    { text: 'The film was good but long.', label: 1 },
    { text: 'A bad movie, but short.', label: 0 },
    { text: 'A great picture, great cast, slow plot.', label: 1 },
    { text: 'Excellent, superb, splendid!', label: 1 },
    { text: 'A nice film.', label: 0 },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Toy resources
// ---------------------------------------------------------------------------------------------------------------

/** Synonym groups of the toy vocabulary (every word of a group is a synonym of the others). */
const TOY_GROUPS: readonly (readonly string[])[] = [
  ['good', 'fine', 'decent', 'nice'],
  ['great', 'grand'],
  ['excellent', 'superb', 'splendid'],
  ['bad', 'poor', 'weak'],
  ['long', 'lengthy'],
  ['short', 'brief'],
  ['film', 'movie', 'picture'],
  ['plot', 'story'],
  ['cast', 'actors'],
  ['team', 'squad', 'side'],
  ['match', 'game', 'fixture'],
  ['vote', 'ballot', 'poll'],
  ['rain', 'shower', 'drizzle'],
];

const TOY_STOPWORDS = ['a', 'an', 'and', 'the', 'was', 'is', 'but', 'of', 'with', 'what', 'to', 'it', 'this', 'that', 'were', 'be', 'in', 'on'];

/** Unit-normalised in-memory word vectors with brute-force neighbours (ties broken by word, so results are stable). */
export function inMemoryWordVectors(vectors: Record<string, readonly number[]>, source = 'toy word vectors (in memory)'): WordVectors {
  const entries = Object.entries(vectors).map(([w, v]) => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    if (!(n > 0)) throw new UsageError(`inMemoryWordVectors: "${w}" has a zero vector`);
    return [w.toLowerCase(), v.map((x) => x / n)] as const;
  });
  const dim = entries[0]?.[1].length ?? 0;
  for (const [w, v] of entries) if (v.length !== dim) throw new UsageError(`inMemoryWordVectors: "${w}" has ${v.length} dimensions, expected ${dim}`);
  const table = new Map(entries);
  const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  return {
    source,
    dim,
    size: table.size,
    has: (w) => table.has(w.toLowerCase()),
    cosine(a, b) {
      const va = table.get(a.toLowerCase());
      const vb = table.get(b.toLowerCase());
      return va && vb ? dot(va, vb) : undefined;
    },
    neighbours(word, k) {
      const v = table.get(word.toLowerCase());
      if (!v) return [];
      return [...table]
        .filter(([w]) => w !== word.toLowerCase())
        .map(([w, u]) => ({ word: w, cosine: dot(v, u) }))
        .sort((x, y) => y.cosine - x.cosine || (x.word < y.word ? -1 : 1))
        .slice(0, k);
    },
  };
}

export interface ToyTextResourcesOptions {
  /** Synonym groups (default: the toy vocabulary's, matching the toy victim). */
  groups?: readonly (readonly string[])[];
  stopwords?: readonly string[];
  /** Word vectors (default: one orthogonal direction per synonym group plus a small word-specific one: cosine ~0.92 inside a group, 0 across). */
  vectors?: Record<string, readonly number[]>;
}

/**
 * {@link TextResources} for tests: a small synonym table (as WordNet), stopwords, and tiny in-memory word vectors
 * (as GloVe). `maskedLm()` rejects with one line: the toy resources have no masked language model.
 */
export function toyTextResources(options: ToyTextResourcesOptions = {}): TextResources {
  const groups = (options.groups ?? TOY_GROUPS).map((g) => g.map((w) => w.toLowerCase()));
  const syn = new Map<string, string[]>();
  for (const g of groups) for (const w of g) syn.set(w, [...new Set([...(syn.get(w) ?? []), ...g.filter((x) => x !== w)])]);
  const stop: ReadonlySet<string> = new Set((options.stopwords ?? TOY_STOPWORDS).map((w) => w.toLowerCase()));
  let vectors = options.vectors;
  if (!vectors) {
    const words = [...new Set(groups.flat())];
    const dim = groups.length + words.length;
    vectors = {};
    groups.forEach((g, gi) => {
      for (const w of g) {
        if (vectors![w]) continue;
        const v = new Array(dim).fill(0);
        v[gi] = 1;
        v[groups.length + words.indexOf(w)] = 0.3;
        vectors![w] = v;
      }
    });
  }
  const wv = inMemoryWordVectors(vectors);
  return {
    stopwords: () => stop,
    synonyms: async () => (word: string) => [...(syn.get(word.toLowerCase()) ?? [])],
    wordVectors: async () => wv,
    maskedLm: async () => {
      throw new UsageError('the toy text resources have no masked language model; test masked-LM recipes with a real one');
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Checks (plain functions: they throw an Error naming the example and what is wrong)
// ---------------------------------------------------------------------------------------------------------------

const fail = (msg: string): never => {
  throw new Error(msg);
};
const quote = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);

/**
 * Goal really reached: re-scores every original and perturbed text with `victim` (a fresh one, so nothing the
 * attack cached or mutated is trusted) and checks each record's status against the goal: `successful` -> the goal
 * holds on the perturbed text and did not on the original; `failed` -> it holds on neither; `skipped` -> it held on
 * the original, which is returned unchanged. The stored probabilities must match the re-scored ones. Returns the
 * number of successful records.
 */
export async function checkTextGoals(
  records: readonly TextAttackRecord[],
  examples: readonly TextAttackExample[],
  goal: GoalSpec,
  victim: TextVictim,
  tolerance = 1e-5,
): Promise<number> {
  if (records.length !== examples.length) fail(`${records.length} records for ${examples.length} examples`);
  const L = victim.labelNames.length;
  const probs = await victim.predict(records.flatMap((r) => [r.original, r.perturbed]));
  const fn = goalFunction(goal);
  let successes = 0;
  records.forEach((r, n) => {
    const where = `example ${n} (${quote(examples[n].text)})`;
    if (r.index !== n) fail(`${where}: record index ${r.index}, expected ${n}`);
    if (r.original !== examples[n].text) fail(`${where}: record original ${quote(r.original)} is not the example's text`);
    const bound = fn.bind(examples[n], L);
    const orig = probs.slice(2 * n * L, (2 * n + 1) * L);
    const pert = probs.slice((2 * n + 1) * L, (2 * n + 2) * L);
    for (let j = 0; j < L; j++) {
      if (!(Math.abs(pert[j] - r.perturbedProbs[j]) <= tolerance)) fail(`${where}: perturbedProbs[${j}] = ${r.perturbedProbs[j]}, but a fresh victim gives ${pert[j]}`);
      if (!(Math.abs(orig[j] - r.originalProbs[j]) <= tolerance)) fail(`${where}: originalProbs[${j}] = ${r.originalProbs[j]}, but a fresh victim gives ${orig[j]}`);
    }
    const metBefore = bound.success(orig);
    const metAfter = bound.success(pert);
    if (r.status === 'skipped') {
      if (!metBefore) fail(`${where}: skipped, but goal ${goal.kind} does not hold on the original`);
      if (r.perturbed !== r.original || r.changed.length) fail(`${where}: skipped, but the text was changed`);
    } else {
      if (metBefore) fail(`${where}: ${r.status}, but goal ${goal.kind} already held on the original (should be skipped)`);
      if (r.status === 'successful' && !metAfter) fail(`${where}: marked successful, but goal ${goal.kind} does not hold on ${quote(r.perturbed)} (re-scored: [${[...pert].map((p) => p.toFixed(3))}])`);
      if (r.status === 'failed' && metAfter) fail(`${where}: marked failed, but goal ${goal.kind} holds on ${quote(r.perturbed)}`);
      if (r.status === 'successful') successes++;
    }
  });
  return successes;
}

/** What the kit saw the transformation propose while the attack ran (see {@link instrumentTextAttack}). */
export interface TextAttackTrace {
  /** original text -> word index -> words proposed for it while that word was still the original word. */
  fromOriginal: Map<string, Map<number, Set<string>>>;
  /** original text -> word index -> every word proposed for it. */
  any: Map<string, Map<number, Set<string>>>;
  /** original text -> the state the search returned. */
  finals: Map<string, TextState>;
}

/**
 * The attack with its transformation and search wrapped (behaviour unchanged) so the kit sees every candidate the
 * transformation proposed and every state the search returned.
 */
export function instrumentTextAttack(attack: TextAttack): { attack: TextAttack; trace: TextAttackTrace } {
  const trace: TextAttackTrace = { fromOriginal: new Map(), any: new Map(), finals: new Map() };
  const note = (m: Map<string, Map<number, Set<string>>>, original: string, index: number, word: string) => {
    let byIndex = m.get(original);
    if (!byIndex) m.set(original, (byIndex = new Map()));
    let words = byIndex.get(index);
    if (!words) byIndex.set(index, (words = new Set()));
    words.add(word);
  };
  const t = attack.transformation;
  const transformation: Transformation = {
    name: t.name,
    needsWhiteBox: t.needsWhiteBox,
    ...(t.prepare ? { prepare: (state: TextState, indices: readonly number[], ctx: Parameters<Transformation['candidates']>[2]) => t.prepare!(state, indices, ctx) } : {}),
    candidates(state, indices, ctx) {
      const out = t.candidates(state, indices, ctx);
      for (const c of out) {
        note(trace.any, state.original, c.index, c.word);
        if (!state.modified.has(c.index) && state.words[c.index] === state.spans[c.index]?.text) note(trace.fromOriginal, state.original, c.index, c.word);
      }
      return out;
    },
  };
  const s = attack.search;
  const search = {
    name: s.name,
    needsWhiteBox: s.needsWhiteBox,
    async run(...args: Parameters<typeof s.run>) {
      const final = await s.run(...args);
      if (final instanceof TextState) trace.finals.set(final.original, final);
      return final;
    },
  };
  return { attack: { ...attack, transformation, search }, trace };
}

/**
 * Does a constraint list forbid modifying a word twice (TextAttack's RepeatModification)? Probed, not read from
 * names: on `text`, some word every constraint allows becomes forbidden once it has been modified.
 */
export function forbidsRepeats(constraints: readonly Constraint[], text: string): boolean {
  const state = new TextState(text);
  for (let i = 0; i < state.numWords; i++) {
    if (!constraints.every((c) => !c.allowIndex || c.allowIndex(state, i))) continue;
    const next = state.replace(i, `${state.words[i]}x`);
    return constraints.some((c) => c.allowIndex && !c.allowIndex(next, i));
  }
  return constraints.some((c) => c.name === 'no-repeat');
}

/**
 * Constraints respected: for each attacked record, the returned changes are replayed on the original text in word
 * order and every constraint of the recipe must allow each word (`allowIndex`) and each replacement
 * (`allowCandidate`): no stopword changed, modification-rate / word-count / edit-distance caps, embedding cosines.
 * The replay must rebuild the perturbed text and `modifiedWords`. With a `trace`, each new word must be one the
 * transformation proposed for that word; when the constraints forbid repeats it must have been proposed from the
 * original word, and the returned state must show no word modified twice (nor changed and changed back).
 */
export function checkTextConstraints(records: readonly TextAttackRecord[], constraints: readonly Constraint[], trace?: TextAttackTrace): void {
  for (const r of records) {
    const where = `example ${r.index} (${quote(r.original)})`;
    let state = new TextState(r.original);
    const noRepeat = forbidsRepeats(constraints, r.original);
    const changes = [...r.changed].sort((a, b) => a.start - b.start);
    const seen = new Set<number>();
    for (const c of changes) {
      const i = state.spans.findIndex((s) => s.start === c.start && s.end === c.end);
      if (i < 0) fail(`${where}: change ${quote(c.before)} -> ${quote(c.after)} at ${c.start}..${c.end} is not a word of the original`);
      if (seen.has(i)) fail(`${where}: word ${i} appears twice in the changes`);
      seen.add(i);
      if (state.spans[i].text !== c.before) fail(`${where}: change says word ${i} was ${quote(c.before)}, the original has ${quote(state.spans[i].text)}`);
      if (c.after === c.before) fail(`${where}: change of word ${i} leaves it as it was`);
      for (const k of constraints) {
        if (k.allowIndex && !k.allowIndex(state, i)) fail(`${where}: constraint ${k.name} forbids modifying word ${i} (${quote(c.before)}), but it was changed to ${quote(c.after)}`);
        if (k.allowCandidate && !k.allowCandidate(state, i, c.after)) fail(`${where}: constraint ${k.name} refuses ${quote(c.before)} -> ${quote(c.after)}`);
      }
      if (trace) {
        const proposed = (noRepeat ? trace.fromOriginal : trace.any).get(r.original)?.get(i);
        if (!proposed?.has(c.after)) {
          fail(`${where}: ${quote(c.before)} -> ${quote(c.after)} was never proposed by the transformation${noRepeat ? ' for the original word (a word changed more than once, with a no-repeat constraint?)' : ''}`);
        }
      }
      state = state.replace(i, c.after);
    }
    if (state.text !== r.perturbed) fail(`${where}: the changes give ${quote(state.text)}, but the record's perturbed text is ${quote(r.perturbed)}`);
    if (r.modifiedWords !== changes.length) fail(`${where}: modifiedWords ${r.modifiedWords}, but ${changes.length} words changed`);
    if (r.words !== state.numWords) fail(`${where}: words ${r.words}, but the original has ${state.numWords}`);
    const final = trace?.finals.get(r.original);
    if (noRepeat && final && final.text === r.perturbed && final.modified.size !== changes.length) {
      fail(`${where}: ${final.modified.size} words were modified on the way but ${changes.length} differ: a word was modified twice despite the no-repeat constraint`);
    }
  }
}

/** The texts a victim was asked to score, call by call (see {@link recordingVictim}). */
export interface RecordingVictim extends TextVictim {
  readonly calls: readonly (readonly string[])[];
}

/** A pass-through wrapper of `victim` that logs every `predict` call (queries are still the victim's own count). */
export function recordingVictim(victim: TextVictim): RecordingVictim {
  const calls: string[][] = [];
  return {
    get name() {
      return victim.name;
    },
    labelNames: victim.labelNames,
    outputKind: victim.outputKind,
    whiteBox: victim.whiteBox,
    get queries() {
      return victim.queries;
    },
    calls,
    async predict(texts) {
      calls.push([...texts]);
      return victim.predict(texts);
    },
  };
}

/**
 * Exact query count: the victim counted every text it was given (`victim.queries` = texts logged), the summary
 * reports exactly that (`totalQueries`), and each record's `queries` is 1 (its original, scored in the first batch)
 * plus the texts scored while it was attacked (`perExample[n]`, the log between consecutive `onExample` calls), none
 * of them scored twice nor the original again.
 */
export function checkTextQueries(
  records: readonly TextAttackRecord[],
  summary: Pick<TextAttackSummary, 'totalQueries'>,
  victim: RecordingVictim,
  perExample: readonly (readonly string[])[],
): void {
  const logged = victim.calls.reduce((s, c) => s + c.length, 0);
  if (victim.queries !== logged) fail(`victim ${victim.name} counts ${victim.queries} queries but was given ${logged} texts`);
  if (summary.totalQueries !== victim.queries) fail(`the summary reports ${summary.totalQueries} queries, the victim counted ${victim.queries}`);
  const sum = records.reduce((s, r) => s + r.queries, 0);
  if (sum !== victim.queries) fail(`the records' queries add up to ${sum}, the victim counted ${victim.queries}`);
  const first = victim.calls[0] ?? [];
  if (first.length !== records.length || records.some((r, n) => first[n] !== r.original)) fail('the first call to the victim is not the batch of original texts (queries outside the runner?)');
  records.forEach((r, n) => {
    const texts = perExample[n] ?? [];
    const where = `example ${n} (${quote(r.original)})`;
    if (r.queries !== 1 + texts.length) fail(`${where}: record says ${r.queries} queries, the victim scored ${1 + texts.length} texts for it`);
    if (new Set(texts).size !== texts.length) fail(`${where}: a text was sent to the victim twice`);
    if (texts.includes(r.original)) fail(`${where}: the original was scored again`);
    if (r.perturbed !== r.original && !texts.includes(r.perturbed)) fail(`${where}: the returned text was never scored`);
  });
}

/**
 * Query budget honoured: `budgeted` ran with `queryBudget: budget`, `unlimited` without, same seed. No record spends
 * more than `budget` queries; an example the unlimited run finished within the budget gives the same record; one it
 * needed more for is `successful` within the budget or `failed` with `reason: 'budget'`; and `reason: 'budget'` only
 * marks failed records that used the whole budget.
 */
export function checkTextBudget(unlimited: readonly TextAttackRecord[], budgeted: readonly TextAttackRecord[], budget: number, summary?: Pick<TextAttackSummary, 'budgetExhausted'>): number {
  let marked = 0;
  budgeted.forEach((b, n) => {
    const u = unlimited[n];
    const where = `example ${n} (${quote(b.original)}), budget ${budget}`;
    if (b.queries > budget) fail(`${where}: spent ${b.queries} queries`);
    if (b.reason === 'budget') {
      marked++;
      if (b.status !== 'failed') fail(`${where}: reason "budget" on a ${b.status} record`);
      if (b.queries !== budget) fail(`${where}: reason "budget" but only ${b.queries} queries used`);
    }
    if (u.queries <= budget) {
      try {
        expect(b).toEqual(u);
      } catch {
        fail(`${where}: needed ${u.queries} queries without a budget, yet the budgeted record differs (status ${b.status} vs ${u.status})`);
      }
    } else if (!(b.status === 'successful' || (b.status === 'failed' && b.reason === 'budget'))) {
      fail(`${where}: needed ${u.queries} queries without a budget; with it the record is ${b.status}${b.reason ? ` (${b.reason})` : ''}, not successful or failed with reason "budget"`);
    }
  });
  if (summary && summary.budgetExhausted !== marked) fail(`summary.budgetExhausted ${summary.budgetExhausted}, but ${marked} records are marked`);
  return marked;
}

// ---------------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------------

/** A victim and examples to run the checks on. */
export interface TextConformanceSetting {
  /** A fresh victim per call (the kit re-scores with a second one). */
  victim: () => TextVictim | Promise<TextVictim>;
  examples: readonly TextAttackExample[];
  /** The goal to run with (must be one the recipe lists in `goals`). */
  goal?: GoalSpec;
}

export interface TextConformanceOptions {
  /** Recipe options for the runs (default: the plugin's defaults). */
  options?: Record<string, unknown>;
  /**
   * Component factories registered before the recipe (composed recipes resolve components by name), e.g.
   * `builtinTextComponents` of `@parry/attacks` plus your own. A factory with the recipe's own name is left out.
   */
  components?: readonly PluginFactory[];
  /** Word resources (default {@link toyTextResources}). */
  resources?: () => TextResources;
  /** Single-label run (default: {@link toyTextVictim} and {@link toyTextExamples}, goal untargeted). */
  singleLabel?: TextConformanceSetting | false;
  /** Multi-label run, when the recipe lists a multi-label goal (default: the toy topic victim and examples, goal flip-any-gold when listed). */
  multiLabel?: TextConformanceSetting | false;
  /** For recipes that need `gradients`: a white-box victim to run the full checks on (else only the refusal is checked). */
  whiteBoxVictim?: TextConformanceSetting;
  seed?: number;
  /** Successful examples each run must have at least (default 1), so the goal check is never vacuous. */
  minSuccesses?: number;
  backend?: BackendName | 'auto';
}

interface RunResult {
  records: TextAttackRecord[];
  summary: TextAttackSummary;
  victim: RecordingVictim;
  perExample: string[][];
  trace: TextAttackTrace;
  attack: TextAttack;
}

function pickMultiLabelGoal(goals: readonly GoalKind[]): GoalSpec | undefined {
  if (goals.includes('flip-any-gold')) return { kind: 'flip-any-gold' };
  if (goals.includes('remove-all-gold')) return { kind: 'remove-all-gold' };
  if (goals.includes('flip-label')) return { kind: 'flip-label', label: 0 };
  return undefined;
}

function pickSingleLabelGoal(goals: readonly GoalKind[]): GoalSpec | undefined {
  if (goals.includes('untargeted')) return { kind: 'untargeted' };
  if (goals.includes('targeted')) return { kind: 'targeted', target: 0 };
  return undefined;
}

const oneLine = (e: unknown) => {
  expect(e).toBeInstanceOf(UsageError);
  const msg = (e as Error).message;
  expect(msg.length).toBeGreaterThan(0);
  expect(msg).not.toContain('\n');
  return msg;
};

/**
 * Registers a vitest `describe` block with the checks every text-attack recipe must pass: plain-object shape,
 * option validation, buildable for its victims (white-box recipes refused on black-box victims with one line), and
 * per victim (single-label, multi-label when the recipe lists a multi-label goal, white-box when given): goal really
 * reached on returned examples, constraints respected, exact query counts, query budget honoured, determinism with
 * a seed, no leaked tensors.
 */
export function describeTextAttackConformance(factory: PluginFactory<TextAttackPlugin<any>>, conformance: TextConformanceOptions = {}): void {
  const { seed = 7, minSuccesses = 1 } = conformance;
  const recipeOptions = conformance.options ?? {};
  const plugin = factory(recipeOptions);
  const whiteBox = plugin.needs.includes('gradients');
  const resources = conformance.resources ?? (() => toyTextResources());
  const makeRegistry = () => {
    const registry = new Registry();
    for (const f of conformance.components ?? []) if (f().name !== plugin.name) registry.register(f, 'conformance components');
    return registry.register(factory, 'recipe under test');
  };

  const settings: Array<{ label: string; setting?: TextConformanceSetting; why?: string }> = [];
  if (whiteBox) {
    settings.push(
      conformance.whiteBoxVictim
        ? { label: 'white-box victim', setting: { goal: pickSingleLabelGoal(plugin.goals), ...conformance.whiteBoxVictim } }
        : { label: 'white-box victim', why: `${plugin.name} needs gradients; pass whiteBoxVictim to run the full checks` },
    );
  } else {
    const single = pickSingleLabelGoal(plugin.goals);
    if (conformance.singleLabel === false) settings.push({ label: 'single-label', why: 'turned off' });
    else if (!single && !conformance.singleLabel?.goal) settings.push({ label: 'single-label', why: `${plugin.name} lists no single-label goal` });
    else settings.push({ label: 'single-label', setting: { victim: () => toyTextVictim(), examples: toyTextExamples('single-label'), goal: single, ...(conformance.singleLabel || {}) } });
    const multi = pickMultiLabelGoal(plugin.goals);
    if (conformance.multiLabel === false) settings.push({ label: 'multi-label', why: 'turned off' });
    else if (!multi && !conformance.multiLabel?.goal) settings.push({ label: 'multi-label', why: `${plugin.name} lists no multi-label goal` });
    else settings.push({ label: 'multi-label', setting: { victim: () => toyTextVictim({ outputKind: 'multi-label' }), examples: toyTextExamples('multi-label'), goal: multi, ...(conformance.multiLabel || {}) } });
  }

  describe(`${plugin.name} text conformance`, () => {
    beforeAll(async () => {
      await initBackend({ backend: conformance.backend ?? 'auto' });
    });

    it('is a plain plugin object the registry accepts', () => {
      expect(Object.getPrototypeOf(plugin)).toBe(Object.prototype);
      expect(() => validatePluginShape(plugin, 'recipe under test')).not.toThrow();
      expect(plugin.kind).toBe('attack');
      expect(plugin.modality).toBe('text');
      expect(plugin.summary.trim().length).toBeGreaterThan(0);
      expect(plugin.goals.length).toBeGreaterThan(0);
      for (const g of plugin.goals) expect(GOAL_KINDS).toContain(g);
      for (const n of plugin.needs) expect(TEXT_RESOURCES).toContain(n);
      expect(JSON.parse(JSON.stringify(plugin.options))).toEqual(plugin.options);
      expect(() => makeRegistry()).not.toThrow();
    });

    it('rejects an unknown option with a one-line UsageError', async () => {
      let thrown: unknown;
      try {
        factory({ ...recipeOptions, definitelyNotAnOption: 1 });
      } catch (e) {
        thrown = e;
      }
      expect(oneLine(thrown)).toContain('definitelyNotAnOption');
      const victim = toyTextVictim();
      const err = await buildTextAttack(makeRegistry(), plugin.name, { ...recipeOptions, definitelyNotAnOption: 1 }, { victim, resources: resources() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(oneLine(err)).toContain('definitelyNotAnOption');
    });

    if (whiteBox) {
      it('is refused on a black-box victim with one clear line', async () => {
        const victim = toyTextVictim();
        const err = await buildTextAttack(makeRegistry(), plugin.name, recipeOptions, { victim, resources: resources() }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(oneLine(err)).toContain(plugin.name);
        expect(victim.queries).toBe(0);
      });
    } else {
      it('builds on a black-box victim, and its parts need no gradients', async () => {
        const victim = toyTextVictim();
        const { attack } = await buildTextAttack(makeRegistry(), plugin.name, recipeOptions, { victim, resources: resources() });
        expect(attack.transformation.needsWhiteBox ?? false).toBe(false);
        expect(attack.search.needsWhiteBox ?? false).toBe(false);
        expect(victim.queries).toBe(0);
      });
    }

    for (const { label, setting, why } of settings) {
      if (!setting) {
        it.skip(`${label}: full checks (skipped: ${why})`, () => {});
        continue;
      }
      const goal = setting.goal!;
      const run = async (options: { queryBudget?: number; seed?: number } = {}): Promise<RunResult> => {
        const victim = recordingVictim(await setting.victim());
        const built = await buildTextAttack(makeRegistry(), plugin.name, recipeOptions, { victim, goal, resources: resources() });
        const { attack, trace } = instrumentTextAttack(built.attack);
        const perExample: string[][] = [];
        let mark = victim.calls.length + 1; // the originals' batch comes first
        const { records, summary } = await runTextAttack(attack, victim, setting.examples, {
          seed: options.seed ?? seed,
          queryBudget: options.queryBudget,
          onExample: () => {
            perExample.push(victim.calls.slice(mark).flat());
            mark = victim.calls.length;
          },
        });
        return { records, summary, victim, perExample, trace, attack: built.attack };
      };
      let main: RunResult | undefined;
      const mainRun = async () => (main ??= await run());

      describe(`${label} (goal ${goal.kind})`, () => {
        it('reaches the goal on every example it reports successful (re-scored by a fresh victim)', async () => {
          const r = await mainRun();
          expect(isMultiLabelGoal(goal)).toBe(r.victim.outputKind === 'multi-label');
          const successes = await checkTextGoals(r.records, setting.examples, goal, await setting.victim());
          expect(successes, `at least ${minSuccesses} successful example(s) on the ${label} toy set`).toBeGreaterThanOrEqual(minSuccesses);
          expect(r.summary.successful).toBe(successes);
        });

        it("respects the recipe's constraints on the returned changes", async () => {
          const r = await mainRun();
          expect(r.records.some((x) => x.changed.length > 0)).toBe(true);
          checkTextConstraints(r.records, r.attack.constraints, r.trace);
        });

        it('reports exactly the queries the victim counted', async () => {
          const r = await mainRun();
          checkTextQueries(r.records, r.summary, r.victim, r.perExample);
        });

        it('honours a query budget and marks budget-exhausted failures', async () => {
          const r = await mainRun();
          const maxQ = Math.max(...r.records.filter((x) => x.status !== 'skipped').map((x) => x.queries));
          expect(maxQ, 'some attacked example needs more than its original query').toBeGreaterThan(1);
          for (const budget of [1, Math.max(1, Math.floor(maxQ / 2))]) {
            const b = await run({ queryBudget: budget });
            const marked = checkTextBudget(r.records, b.records, budget, b.summary);
            if (budget === 1) expect(marked, 'with a budget of 1 every example that needed queries is marked "budget"').toBeGreaterThan(0);
            checkTextQueries(b.records, b.summary, b.victim, b.perExample);
          }
        });

        it('is deterministic with a seed', async () => {
          const a = await run({ seed: seed + 1 });
          const b = await run({ seed: seed + 1 });
          expect(b.records).toEqual(a.records);
        });

        it('leaks no tensors', async () => {
          await mainRun();
          const before = tf.memory().numTensors;
          await run();
          expect(tf.memory().numTensors).toBe(before);
        });
      });
    }
  });
}
