/**
 * The text-attack runner over a list of examples (the text counterpart of `runAttack`), and TextAttack's summary metrics (plus multi-label ones).
 */
import { UsageError } from '../errors.js';
import { createRng } from '../rng.js';
import { normalizeVisibleWords } from '../truncation.js';
import type { Evaluation, SearchContext, TextAttack } from './contract.js';
import type { TextVictim } from './victim.js';
import { type ChangedSpan, TextState } from './words.js';

/** One example: a class id (single-label) or gold label ids (multi-label). */
export interface TextAttackExample {
  text: string;
  label?: number;
  labels?: readonly number[];
}

export type TextAttackStatus = 'successful' | 'failed' | 'skipped';

export interface TextAttackRecord {
  index: number;
  original: string;
  perturbed: string;
  status: TextAttackStatus;
  /** Why a failed attack stopped early: `budget` when the query budget ran out. */
  reason?: 'budget';
  /** Model queries spent on this example (the original text included). */
  queries: number;
  /** White-box gradient passes (HotFlip, gradient ranking); not queries. */
  gradientCalls: number;
  words: number;
  /** Words that reached the model (set only when the text was cut by the model's token limit). */
  visibleWords?: number;
  /** Of `visibleWords`, how many are at the end of the text (set only when the visible words are not a prefix: tail or head+tail truncation). */
  visibleTailWords?: number;
  modifiedWords: number;
  changed: Array<Omit<ChangedSpan, 'index'>>;
  label?: number;
  labels?: number[];
  originalProbs: number[];
  perturbedProbs: number[];
  /** Predicted label names (argmax; multi-label: every label with p >= 0.5). */
  originalPrediction: string[];
  perturbedPrediction: string[];
}

export interface TextAttackSummary {
  attack: string;
  n: number;
  successful: number;
  failed: number;
  skipped: number;
  /** Failed attacks that stopped because the query budget ran out. */
  budgetExhausted: number;
  /** Examples cut by the model's token limit (their invisible words were never changed). */
  truncated: number;
  /** (n - skipped) / n: examples on which the goal was not already met (single-label: the clean accuracy). */
  originalAccuracy: number;
  /** failed / n. */
  accuracyUnderAttack: number;
  /** successful / (successful + failed); 0 when nothing was attacked. */
  attackSuccessRate: number;
  /** Mean over successful attacks of 100 * modified words / words. */
  avgPerturbedWordPct: number;
  avgWordsPerInput: number;
  /** Mean queries over attacked (not skipped) examples. */
  avgQueries: number;
  totalQueries: number;
  gradientCalls: number;
  wallSeconds: number;
  queriesPerSecond: number;
  notes: string[];
  /** Multi-label victims: decision flips per label (threshold 0.5) and micro-F1 against the gold labels before/after. */
  multiLabel?: { perLabel: Array<{ label: string; flipRate: number }>; microF1Before: number; microF1After: number };
}

export interface RunTextAttackOptions {
  /** Queries allowed per example, the original text included (default: unlimited). */
  queryBudget?: number;
  seed?: number;
  /**
   * Examples attacked at the same time (default 1). Above 1, the candidate texts of the examples in flight are scored
   * together: every model call is filled from several examples' candidate sets (cross-example batching). Records,
   * query counts and budgets stay per example and do not depend on it (with a victim whose scores do not depend on
   * the batch a text is scored in); `onExample` then reports examples in the order they finish.
   */
  concurrency?: number;
  /**
   * Reuse the score of a text already scored for the same example (default true). `false` sends and counts every text a
   * search asks for, as Parry did before the cache; it exists to measure what the cache saves.
   */
  cache?: boolean;
  onExample?: (record: TextAttackRecord, done: number, total: number) => void;
  /**
   * Index of the first example in a larger run that `examples` is a contiguous block of (a shard; default 0): example k
   * gets the random stream of example `offset + k` of that run and records that index, so shards together give the
   * unsharded records.
   */
  offset?: number;
  /**
   * Records of examples finished by an earlier, interrupted run (keyed by their position in `examples`): they are not
   * attacked or queried again, and count in the summary as if attacked now (`--resume`). Their random streams are still
   * skipped over, so the other examples get the streams of an uninterrupted run.
   */
  done?: ReadonlyMap<number, TextAttackRecord>;
}

/**
 * One victim call for the texts all in-flight searches asked for in the same turn of the event loop: requests are
 * queued and flushed together on the next macrotask, by which time every runnable search has reached its next
 * `evaluate`. Each request gets its own slice of the probabilities back.
 */
function batchingPredict(victim: TextVictim, L: number): (texts: readonly string[]) => Promise<Float32Array> {
  let queue: Array<{ texts: readonly string[]; resolve: (p: Float32Array) => void; reject: (e: unknown) => void }> = [];
  const flush = async () => {
    const batch = queue;
    queue = [];
    try {
      const probs = await victim.predict(batch.flatMap((r) => r.texts));
      let at = 0;
      for (const r of batch) {
        r.resolve(probs.slice(at * L, (at + r.texts.length) * L));
        at += r.texts.length;
      }
    } catch (e) {
      for (const r of batch) r.reject(e);
    }
  };
  return (texts) =>
    new Promise((resolve, reject) => {
      if (queue.length === 0) setImmediate(() => void flush());
      queue.push({ texts, resolve, reject });
    });
}

const predicted = (probs: ArrayLike<number>, names: readonly string[], multi: boolean): string[] => {
  if (multi) return names.filter((_, j) => probs[j] >= 0.5);
  let a = 0;
  for (let j = 1; j < names.length; j++) if (probs[j] > probs[a]) a = j;
  return [names[a]];
};

/**
 * Attack every example. Originals are scored in one batched call; each example's search then queries through a
 * per-example cache (a text is never scored twice) under the query budget, counting every text it sends; with
 * `concurrency` above 1, several examples are attacked at once and their candidates share model calls.
 */
export async function runTextAttack(
  attack: TextAttack,
  victim: TextVictim,
  examples: readonly TextAttackExample[],
  options: RunTextAttackOptions = {},
): Promise<{ records: TextAttackRecord[]; summary: TextAttackSummary }> {
  const budget = options.queryBudget ?? Infinity;
  if (!(budget >= 1)) throw new UsageError(`query budget must be >= 1 (it includes the original text), got ${budget}`);
  if (attack.goal.outputKind !== victim.outputKind) {
    throw new UsageError(`goal ${attack.goal.name} is for ${attack.goal.outputKind} models, but ${victim.name} is ${victim.outputKind}; pick a matching goal (see --goal)`);
  }
  if ((attack.transformation.needsWhiteBox || attack.search.needsWhiteBox) && !victim.whiteBox) {
    throw new UsageError(`${attack.name} needs gradients (a Parry model); ${victim.name} is black-box: use a black-box recipe (see \`parry list\`)`);
  }
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new UsageError(`concurrency must be a positive integer, got ${concurrency}`);
  const reuse = options.cache ?? true;
  const L = victim.labelNames.length;
  const t0 = performance.now();
  const q0 = victim.queries;
  const offset = options.offset ?? 0;
  if (!(Number.isInteger(offset) && offset >= 0)) throw new UsageError(`example offset must be a non-negative integer, got ${offset}`);
  const rng = createRng(options.seed ?? 0);
  for (let k = 0; k < offset; k++) rng.fork(); // the streams of the examples before this block
  const streams = examples.map(() => rng.fork()); // forked in example order, so a stream never depends on timing
  const prior = options.done ?? new Map<number, TextAttackRecord>();
  for (const n of prior.keys()) if (!(Number.isInteger(n) && n >= 0 && n < examples.length)) throw new UsageError(`done: ${n} is not the position of one of the ${examples.length} examples`);
  const todo = examples.map((_, n) => n).filter((n) => !prior.has(n));
  const slot = new Map(todo.map((n, k) => [n, k]));
  const origAll = todo.length ? await victim.predict(todo.map((n) => examples[n].text)) : new Float32Array(0);
  const predict = concurrency > 1 ? batchingPredict(victim, L) : (texts: readonly string[]) => victim.predict(texts);
  const records: TextAttackRecord[] = new Array(examples.length);
  let gradientCalls = 0;
  let priorQueries = 0;
  for (const [n, rec] of prior) {
    records[n] = rec;
    gradientCalls += rec.gradientCalls;
    priorQueries += rec.queries;
  }
  let done = prior.size;
  const attackOne = async (n: number): Promise<void> => {
    const ex = examples[n];
    const goal = attack.goal.bind(ex, L);
    const k = slot.get(n)!;
    const origProbs = origAll.slice(k * L, (k + 1) * L);
    const cache = new Map<string, Evaluation>();
    const judge = (probs: Float32Array): Evaluation => ({ probs, score: goal.score(probs), success: goal.success(probs) });
    cache.set(ex.text, judge(origProbs));
    let queries = 1; // the original, scored in the batch above
    let exhausted = false;
    const counters = { gradientCalls: 0 };
    const initial = new TextState(ex.text);
    // Words cut by the model's token limit never reach it: changing them cannot matter, so searches may not.
    const words = initial.numWords;
    const seen = victim.visibleWords ? normalizeVisibleWords(victim.visibleWords(ex.text), words) : { head: words, tail: 0 };
    const visible = seen.head + seen.tail;
    const constraints =
      visible < words
        ? [...attack.constraints, { name: 'visible-words', allowIndex: (_s: TextState, i: number) => i < seen.head || i >= words - seen.tail }]
        : attack.constraints;
    const ctx: SearchContext = {
      goal,
      victim,
      rng: streams[n],
      transformation: attack.transformation,
      constraints,
      counters,
      get exhausted() {
        return exhausted;
      },
      async evaluate(texts) {
        const fresh = reuse ? [...new Set(texts.filter((t) => !cache.has(t)))] : texts.filter((t) => t !== ex.text);
        const left = budget - queries;
        const run = fresh.slice(0, Math.max(0, left));
        if (run.length < fresh.length) exhausted = true;
        if (run.length) {
          queries += run.length;
          const probs = await predict(run);
          run.forEach((t, k) => cache.set(t, judge(probs.slice(k * L, (k + 1) * L))));
        }
        return texts.map((t) => cache.get(t) ?? null);
      },
    };
    const initialEval = cache.get(ex.text)!;
    let final = initial;
    let status: TextAttackStatus = 'skipped';
    if (!initialEval.success) {
      final = await attack.search.run(initial, initialEval, ctx);
      if (!cache.has(final.text)) throw new Error(`search ${attack.search.name} returned a text it never scored (a bug)`);
      status = cache.get(final.text)!.success ? 'successful' : 'failed';
    }
    const finalProbs = cache.get(final.text)!.probs;
    const changed = final.changes();
    gradientCalls += counters.gradientCalls;
    const rec: TextAttackRecord = {
      index: offset + n,
      original: ex.text,
      perturbed: final.text,
      status,
      ...(status === 'failed' && exhausted ? { reason: 'budget' as const } : {}),
      queries,
      gradientCalls: counters.gradientCalls,
      words: initial.numWords,
      ...(visible < words ? { visibleWords: visible, ...(seen.tail > 0 ? { visibleTailWords: seen.tail } : {}) } : {}),
      modifiedWords: changed.length,
      changed: changed.map(({ start, end, before, after }) => ({ start, end, before, after })),
      ...(ex.label !== undefined ? { label: ex.label } : {}),
      ...(ex.labels !== undefined ? { labels: [...ex.labels] } : {}),
      originalProbs: [...origProbs],
      perturbedProbs: [...finalProbs],
      originalPrediction: predicted(origProbs, victim.labelNames, victim.outputKind === 'multi-label'),
      perturbedPrediction: predicted(finalProbs, victim.labelNames, victim.outputKind === 'multi-label'),
    };
    records[n] = rec;
    options.onExample?.(rec, ++done, examples.length);
  };
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < todo.length) {
      try {
        await attackOne(todo[next++]);
      } catch (e) {
        failed = true; // the other workers stop after their current example
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));
  const wallSeconds = (performance.now() - t0) / 1000;
  const summary = summarizeTextAttack(attack, victim, records, { wallSeconds, totalQueries: victim.queries - q0 + priorQueries, gradientCalls });
  return { records, summary };
}

/** TextAttack's summary table (and multi-label extras) from per-example records. */
export function summarizeTextAttack(
  attack: Pick<TextAttack, 'name' | 'constraints' | 'notes'>,
  victim: Pick<TextVictim, 'labelNames' | 'outputKind'>,
  records: readonly TextAttackRecord[],
  run: { wallSeconds: number; totalQueries: number; gradientCalls: number },
): TextAttackSummary {
  const n = records.length;
  const count = (s: TextAttackStatus) => records.filter((r) => r.status === s).length;
  const successful = count('successful');
  const failed = count('failed');
  const skipped = count('skipped');
  const attacked = records.filter((r) => r.status !== 'skipped');
  const ok = records.filter((r) => r.status === 'successful');
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const summary: TextAttackSummary = {
    attack: attack.name,
    n,
    successful,
    failed,
    skipped,
    budgetExhausted: records.filter((r) => r.reason === 'budget').length,
    truncated: records.filter((r) => r.visibleWords !== undefined).length,
    originalAccuracy: n ? (n - skipped) / n : 0,
    accuracyUnderAttack: n ? failed / n : 0,
    attackSuccessRate: successful + failed ? successful / (successful + failed) : 0,
    // over the words the model saw (all of them unless the text was truncated)
    avgPerturbedWordPct: mean(ok.map((r) => (100 * r.modifiedWords) / Math.max(1, r.visibleWords ?? r.words))),
    avgWordsPerInput: mean(records.map((r) => r.words)),
    avgQueries: mean(attacked.map((r) => r.queries)),
    totalQueries: run.totalQueries,
    gradientCalls: run.gradientCalls,
    wallSeconds: run.wallSeconds,
    queriesPerSecond: run.wallSeconds > 0 ? run.totalQueries / run.wallSeconds : 0,
    notes: [
      ...(attack.notes ?? []),
      ...attack.constraints.flatMap((c) => (c.note ? [c.note] : [])),
      ...(records.some((r) => r.visibleWords !== undefined)
        ? [`${records.filter((r) => r.visibleWords !== undefined).length} of ${n} texts were cut by the model's token limit: only the words it sees were searched, and perturbed words % counts those words`]
        : []),
    ],
  };
  if (victim.outputKind === 'multi-label') {
    const L = victim.labelNames.length;
    const f1 = (key: 'originalProbs' | 'perturbedProbs') => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (const r of records) {
        const gold = new Set(r.labels ?? []);
        for (let j = 0; j < L; j++) {
          const p = r[key][j] >= 0.5;
          if (p && gold.has(j)) tp++;
          else if (p) fp++;
          else if (gold.has(j)) fn++;
        }
      }
      return tp ? (2 * tp) / (2 * tp + fp + fn) : 0;
    };
    summary.multiLabel = {
      perLabel: victim.labelNames.map((label, j) => ({
        label,
        flipRate: n ? records.filter((r) => r.originalProbs[j] >= 0.5 !== r.perturbedProbs[j] >= 0.5).length / n : 0,
      })),
      microF1Before: f1('originalProbs'),
      microF1After: f1('perturbedProbs'),
    };
  }
  return summary;
}
