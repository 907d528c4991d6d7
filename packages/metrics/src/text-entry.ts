import { type GoalSpec, type TextAttackRecord, type TextAttackSummary, UsageError } from '@parry/core';
import { perturbedText, type TextAttackEntry, type TextExample } from './results.js';

/** What `runTextAttack` returned, with what the results need besides. */
export interface TextAttackRun {
  summary: TextAttackSummary;
  records: readonly TextAttackRecord[];
  goal: GoalSpec;
  /** The recipe's options as run (shown in the report). */
  options: Record<string, unknown>;
  /** Queries allowed per example (the original included); absent or Infinity when unlimited. */
  queryBudget?: number;
  /** The model's label names, in label-id order (gold ids are turned into these). */
  labelNames: readonly string[];
  /** Per-example records to keep, in order (default: all of them; skipped examples included). */
  keepExamples?: number;
}

const joined = (names: readonly string[]): string => names.join(', ') || '(none)';

/** 4 significant digits: enough for a confidence, a third of the characters of a float. */
const round4 = (v: number): number => Number(v.toPrecision(4));

/** Probability of the top-scoring label. */
const top = (probs: readonly number[]): number | undefined => (probs.length ? Math.min(1, Math.max(0, round4(Math.max(...probs)))) : undefined);

/** The fields of a text attack's results entry that come from its summary (TextAttack's table, queries, time, notes). */
export function textSummaryFields(s: TextAttackSummary) {
  return {
    n: s.n,
    cleanAccuracy: s.originalAccuracy,
    robustAccuracy: s.accuracyUnderAttack,
    attackSuccessRate: s.attackSuccessRate,
    successful: s.successful,
    failed: s.failed,
    skipped: s.skipped,
    budgetExhausted: s.budgetExhausted,
    truncated: s.truncated,
    avgPerturbedWordPct: s.avgPerturbedWordPct,
    avgWordsPerInput: s.avgWordsPerInput,
    avgQueries: s.avgQueries,
    totalQueries: s.totalQueries,
    queriesPerSecond: s.queriesPerSecond,
    gradientCalls: s.gradientCalls,
    wallTimeMs: s.wallSeconds * 1000,
    notes: [...s.notes],
  };
}

/**
 * The results entry of a text attack (`modality: 'text'`): TextAttack's summary table, the multi-label extras, one
 * success bit per example and a compact record of every example (or the first `keepExamples`): the original text,
 * the changed words with their offsets (the perturbed text is left out when they rebuild it, see `perturbedText`),
 * predictions, queries and the top-label confidence before and after. Gold labels are named from `labelNames`;
 * predictions are the label names the runner recorded (joined with ', ', '(none)' when empty).
 */
export function textAttackEntry(run: TextAttackRun): TextAttackEntry {
  const { summary: s, records, labelNames } = run;
  if (records.length !== s.n) throw new UsageError(`textAttackEntry: ${records.length} records, but the summary of ${s.attack} counts ${s.n} examples; pass the records and summary of one run`);
  const keep = run.keepExamples ?? Infinity;
  if (!((Number.isInteger(keep) && keep >= 0) || keep === Infinity)) throw new UsageError(`textAttackEntry: keepExamples must be a non-negative integer, got ${keep}`);
  const name = (id: number): string => labelNames[id] ?? String(id);
  const gold = (r: TextAttackRecord): string => (r.label !== undefined ? name(r.label) : joined((r.labels ?? []).map(name)));
  const budget = run.queryBudget;
  const examples: TextExample[] = records.slice(0, keep).map((r) => {
    const changed = r.changed.map(({ start, end, before, after }) => ({ start, end, before, after }));
    const before = top(r.originalProbs);
    const after = top(r.perturbedProbs);
    return {
      index: r.index,
      label: gold(r),
      prediction: joined(r.originalPrediction),
      original: r.original,
      ...(perturbedText({ original: r.original, changed }) === r.perturbed ? {} : { perturbed: r.perturbed }),
      perturbedPrediction: joined(r.perturbedPrediction),
      status: r.status,
      changed,
      queries: r.queries,
      ...(before !== undefined && after !== undefined ? { confidence: [before, after] as [number, number] } : {}),
    };
  });
  return {
    modality: 'text',
    attack: s.attack,
    goal: { ...run.goal },
    options: { ...run.options },
    ...textSummaryFields(s),
    queryBudget: budget === undefined || budget === Infinity ? null : budget,
    ...(s.multiLabel
      ? { perLabel: s.multiLabel.perLabel.map((p) => ({ label: p.label, flipRate: p.flipRate })), microF1Before: s.multiLabel.microF1Before, microF1After: s.multiLabel.microF1After }
      : {}),
    successBits: records.map((r) => (r.status === 'successful' ? '1' : '0')).join(''),
    examples,
  };
}
