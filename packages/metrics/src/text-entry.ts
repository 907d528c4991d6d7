import { type GoalSpec, type TextAttackRecord, type TextAttackSummary, UsageError } from '@parry/core';
import type { TextAttackEntry, TextExample } from './results.js';

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
  /** Attacked (not skipped) examples to keep for the report's text diffs, in order (default 50). */
  keepExamples?: number;
}

const joined = (names: readonly string[]): string => names.join(', ') || '(none)';

/**
 * The results entry of a text attack (`modality: 'text'`): TextAttack's summary table, the multi-label extras, one
 * success bit per example and the first `keepExamples` attacked examples (skipped ones left out) with their changed
 * words. Gold labels are named from `labelNames`; predictions are the label names the runner recorded (joined with
 * ', ', '(none)' when empty).
 */
export function textAttackEntry(run: TextAttackRun): TextAttackEntry {
  const { summary: s, records, labelNames } = run;
  if (records.length !== s.n) throw new UsageError(`textAttackEntry: ${records.length} records, but the summary of ${s.attack} counts ${s.n} examples; pass the records and summary of one run`);
  const keep = run.keepExamples ?? 50;
  if (!(Number.isInteger(keep) && keep >= 0)) throw new UsageError(`textAttackEntry: keepExamples must be a non-negative integer, got ${keep}`);
  const name = (id: number): string => labelNames[id] ?? String(id);
  const gold = (r: TextAttackRecord): string => (r.label !== undefined ? name(r.label) : joined((r.labels ?? []).map(name)));
  const budget = run.queryBudget;
  const examples: TextExample[] = records
    .filter((r) => r.status !== 'skipped')
    .slice(0, keep)
    .map((r) => ({
      index: r.index,
      label: gold(r),
      prediction: joined(r.originalPrediction),
      original: r.original,
      perturbed: r.perturbed,
      perturbedPrediction: joined(r.perturbedPrediction),
      status: r.status,
      changed: r.changed.map(({ start, end, before, after }) => ({ start, end, before, after })),
    }));
  return {
    modality: 'text',
    attack: s.attack,
    goal: { ...run.goal },
    options: { ...run.options },
    n: s.n,
    cleanAccuracy: s.originalAccuracy,
    robustAccuracy: s.accuracyUnderAttack,
    attackSuccessRate: s.attackSuccessRate,
    successful: s.successful,
    failed: s.failed,
    skipped: s.skipped,
    budgetExhausted: s.budgetExhausted,
    truncated: s.truncated,
    queryBudget: budget === undefined || budget === Infinity ? null : budget,
    avgPerturbedWordPct: s.avgPerturbedWordPct,
    avgWordsPerInput: s.avgWordsPerInput,
    avgQueries: s.avgQueries,
    totalQueries: s.totalQueries,
    queriesPerSecond: s.queriesPerSecond,
    gradientCalls: s.gradientCalls,
    wallTimeMs: s.wallSeconds * 1000,
    notes: [...s.notes],
    ...(s.multiLabel
      ? { perLabel: s.multiLabel.perLabel.map((p) => ({ label: p.label, flipRate: p.flipRate })), microF1Before: s.multiLabel.microF1Before, microF1After: s.multiLabel.microF1After }
      : {}),
    successBits: records.map((r) => (r.status === 'successful' ? '1' : '0')).join(''),
    examples,
  };
}
