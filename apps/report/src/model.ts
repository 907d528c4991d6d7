import * as path from 'node:path';
import type { AttackEntry, ImageAttackEntry, Results, TextAttackEntry } from '@parry/metrics';
import { eps, fixed, pct } from './format.js';

/** One results file with the name the report shows for it. */
export interface ReportSource {
  /** Where it was read from (shown in the report); any label for in-memory results. */
  file: string;
  results: Results;
}

/** A model in the report: its evaluation files and, if present, its training file. */
export interface Run {
  id: string;
  title: string;
  files: string[];
  evals: Results[];
  train?: Results;
  first: Results;
}

export type Attack = AttackEntry;

/** A table as strings: the HTML and the Markdown render the very same cells. */
export interface Table {
  id: string;
  caption: string;
  columns: string[];
  rows: string[][];
  /** Left-align every cell (for key/value tables); by default numeric cells are right-aligned in the HTML. */
  plain?: boolean;
}

/** A path as the reader knows it: relative to the working directory when inside it. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** The leading "run" column only when there is more than one run to tell apart. */
function runColumn(runs: Run[], columns: string[], rows: { run: Run; cells: string[] }[]): { columns: string[]; rows: string[][] } {
  if (runs.length <= 1) return { columns, rows: rows.map((r) => r.cells) };
  return { columns: ['run', ...columns], rows: rows.map((r) => [r.run.title, ...r.cells]) };
}

/**
 * Group results by model: files that name the same model directory (an eval file and the `train-results.json` next
 * to the model) form one run; any other file is a run of its own. Order follows the input.
 */
export function groupRuns(sources: ReportSource[]): Run[] {
  const runs: Run[] = [];
  const byKey = new Map<string, Run>();
  for (const s of sources) {
    const key = s.results.model.path ? `model:${path.resolve(s.results.model.path)}` : `file:${s.file}:${runs.length}`;
    let run = byKey.get(key);
    if (!run) {
      run = { id: `run-${runs.length + 1}`, title: '', files: [], evals: [], first: s.results };
      byKey.set(key, run);
      runs.push(run);
    }
    run.files.push(displayPath(s.file));
    if (s.results.kind === 'train' && !run.train) run.train = s.results;
    else run.evals.push(s.results);
  }
  const titles = runs.map((r) => r.first.model.name + (r.first.model.path ? ` (${displayPath(r.first.model.path)})` : ''));
  runs.forEach((r, i) => {
    const dup = titles.filter((t) => t === titles[i]).length > 1;
    r.title = dup ? `${titles[i]} #${i + 1}` : titles[i];
  });
  return runs;
}

export const attacksOf = (run: Run): Attack[] => run.evals.flatMap((r) => r.attacks);
/** Image attacks: robustness per epsilon, perturbation sizes, image grids. */
export const imageAttacksOf = (run: Run): ImageAttackEntry[] => attacksOf(run).filter((a): a is ImageAttackEntry => a.modality === 'image');
/** Text attacks: TextAttack's summary, per-label flip rates, text diffs. */
export const textAttacksOf = (run: Run): TextAttackEntry[] => attacksOf(run).filter((a): a is TextAttackEntry => a.modality === 'text');

/** Clean accuracy of a run: the evaluation's, else the last training epoch's held-out accuracy. */
export function cleanOf(run: Run): { accuracy: number; n: number } | undefined {
  for (const r of run.evals) if (r.clean) return r.clean;
  const a = attacksOf(run)[0];
  if (a) return { accuracy: a.cleanAccuracy, n: a.n };
  return run.train?.clean;
}

export const labelName = (r: Results, k: number): string => r.model.labelNames?.[k] ?? String(k);

/** Sorted epsilons of a set of image attacks; `null` (unbounded) last. */
export function epsilonsOf(attacks: ImageAttackEntry[]): (number | null)[] {
  const set = new Set<number | null>();
  for (const a of attacks) for (const e of a.perEpsilon) set.add(e.epsilon);
  return [...set].sort((a, b) => (a === null ? 1 : b === null ? -1 : a - b));
}

/** One headline row: the strongest attack of a run at one epsilon (image), or over all its text attacks (`epsilon` undefined). */
export interface Strongest {
  epsilon?: number | null;
  attack: Attack;
  robustAccuracy: number;
  attackSuccessRate: number;
}

/** The strongest attack (lowest robust accuracy) at each epsilon of a run's image attacks, then the strongest of its text attacks. */
export function strongestPerEpsilon(run: Run): Strongest[] {
  const images = imageAttacksOf(run);
  const rows: Strongest[] = epsilonsOf(images).map((epsilon) => {
    let best: Strongest | undefined;
    for (const a of images) {
      const e = a.perEpsilon.find((p) => p.epsilon === epsilon);
      if (e && (!best || e.robustAccuracy < best.robustAccuracy)) best = { epsilon, attack: a, robustAccuracy: e.robustAccuracy, attackSuccessRate: e.attackSuccessRate };
    }
    return best!;
  });
  let text: Strongest | undefined;
  for (const a of textAttacksOf(run)) if (!text || a.robustAccuracy < text.robustAccuracy) text = { attack: a, robustAccuracy: a.robustAccuracy, attackSuccessRate: a.attackSuccessRate };
  return text ? [...rows, text] : rows;
}

/** The budget column of a headline row: the epsilon of an image attack, "words" for a text attack. */
const budgetOf = (s: Strongest): string => (s.epsilon === undefined ? 'words' : eps(s.epsilon));

/** One sentence per run for the top of the report (same words in HTML and Markdown); `at` is absent for text attacks. */
export function headlineSentence(run: Run): { title: string; clean?: string; robust?: string; at?: string; attack?: string } {
  const clean = cleanOf(run);
  const strongest = strongestPerEpsilon(run);
  const last = strongest[strongest.length - 1];
  return {
    title: run.title,
    clean: clean ? pct(clean.accuracy) : undefined,
    robust: last ? pct(last.robustAccuracy) : undefined,
    at: last && last.epsilon !== undefined ? eps(last.epsilon) : undefined,
    attack: last?.attack.attack,
  };
}

export function runsTable(runs: Run[]): Table {
  return {
    id: 'runs',
    caption: 'Models and results files',
    columns: ['run', 'model', 'dataset', 'examples', 'clean acc', 'attacks', 'files'],
    rows: runs.map((r) => {
      const clean = cleanOf(r);
      const d = (r.evals[0] ?? r.first).dataset;
      return [r.title, r.first.model.name, `${d.name} (${d.split})`, String(clean?.n ?? d.n), pct(clean?.accuracy), String(attacksOf(r).length), r.files.join(', ')];
    }),
  };
}

export function headlineTable(runs: Run[]): Table {
  const rows: { run: Run; cells: string[] }[] = [];
  for (const run of runs) {
    const clean = cleanOf(run);
    for (const s of strongestPerEpsilon(run)) rows.push({ run, cells: [budgetOf(s), pct(clean?.accuracy), pct(s.robustAccuracy), s.attack.attack, pct(s.attackSuccessRate)] });
  }
  return {
    id: 'headline',
    caption: 'Clean vs robust accuracy: the strongest attack at each epsilon (text: over the word-level attacks)',
    ...runColumn(runs, ['eps', 'clean acc', 'robust acc', 'strongest attack', 'success rate'], rows),
  };
}

export function attacksTable(runs: Run[]): Table {
  const rows: { run: Run; cells: string[] }[] = [];
  for (const run of runs) {
    for (const a of imageAttacksOf(run)) {
      for (const e of a.perEpsilon) {
        rows.push({ run, cells: [
          a.attack,
          a.norm,
          eps(e.epsilon),
          pct(a.cleanAccuracy),
          pct(e.robustAccuracy),
          pct(e.attackSuccessRate),
          fixed(e.linf?.mean, 4),
          fixed(e.linf?.max, 4),
          fixed(e.l2?.mean, 3),
          fixed(e.l2?.max, 3),
          String(a.gradientEvaluations),
          fixed(a.wallTimeMs / 1000, 1),
        ] });
      }
    }
  }
  return {
    id: 'attacks',
    caption: 'Every image attack at every epsilon (perturbation sizes over the successful adversarials)',
    ...runColumn(runs, ['attack', 'norm', 'eps', 'clean acc', 'robust acc', 'success rate', 'mean Linf', 'max Linf', 'mean L2', 'max L2', 'grad evals', 'seconds'], rows),
  };
}

/** A goal as the `--goal` flag spells it: `untargeted`, `targeted:3`, `flip-label:2`, ... */
export function goalText(goal: { kind: string; [k: string]: unknown }): string {
  const arg = goal.kind === 'targeted' ? goal.target : goal.kind === 'flip-label' ? goal.label : undefined;
  return arg === undefined ? goal.kind : `${goal.kind}:${typeof arg === 'string' || typeof arg === 'number' ? arg : JSON.stringify(arg)}`;
}

/** The TextAttack summary of every text attack (absent when no results file has one). */
export function textAttackTable(runs: Run[]): Table | undefined {
  const rows: { run: Run; cells: string[] }[] = [];
  const multi = runs.some((run) => textAttacksOf(run).some((t) => t.microF1Before !== undefined));
  for (const run of runs) {
    for (const t of textAttacksOf(run)) {
      rows.push({ run, cells: [
        t.attack,
        goalText(t.goal),
        `${t.successful} / ${t.failed} / ${t.skipped}`,
        pct(t.cleanAccuracy),
        pct(t.robustAccuracy),
        pct(t.attackSuccessRate),
        `${fixed(t.avgPerturbedWordPct, 1)}%`,
        fixed(t.avgWordsPerInput, 1),
        fixed(t.avgQueries, 1),
        t.queryBudget === null ? 'none' : `${t.queryBudget} (${t.budgetExhausted} exhausted)`,
        ...(multi ? [`${fixed(t.microF1Before, 3)} → ${fixed(t.microF1After, 3)}`] : []),
        fixed(t.wallTimeMs / 1000, 1),
      ] });
    }
  }
  if (rows.length === 0) return undefined;
  const columns = ['attack', 'goal', 'successful / failed / skipped', 'original acc', 'acc under attack', 'success rate', 'perturbed words', 'words / input', 'avg queries', 'query budget', ...(multi ? ['micro-F1 before → after'] : []), 'seconds'];
  return { id: 'text-attacks', caption: 'Text attacks (TextAttack summary)', ...runColumn(runs, columns, rows) };
}

/** The notes of the text attacks (stand-ins, assumptions), one row each; absent when there are none. */
export function textNotesTable(runs: Run[]): Table | undefined {
  const rows: { run: Run; cells: string[] }[] = [];
  for (const run of runs) for (const t of textAttacksOf(run)) for (const note of t.notes) rows.push({ run, cells: [t.attack, note] });
  if (rows.length === 0) return undefined;
  return { id: 'text-notes', caption: 'Notes on the text attacks', ...runColumn(runs, ['attack', 'note'], rows), plain: true };
}

export function trainingTable(run: Run): Table | undefined {
  const t = run.train?.training;
  if (!t) return undefined;
  const robust = t.epochs.some((e) => e.robustAccuracy !== undefined);
  const trainAcc = t.epochs.some((e) => e.trainAccuracy !== undefined);
  const f1 = t.epochs.some((e) => e.macroF1 !== undefined);
  return {
    id: `${run.id}-training`,
    caption: `Training: ${run.title}`,
    columns: ['epoch', 'loss', ...(trainAcc ? ['train acc'] : []), 'held-out acc', ...(f1 ? ['micro-F1', 'macro-F1'] : []), ...(robust ? ['robust acc'] : []), 'seconds'],
    rows: t.epochs.map((e) => [
      String(e.epoch),
      fixed(e.loss, 4),
      ...(trainAcc ? [pct(e.trainAccuracy)] : []),
      pct(e.testAccuracy),
      ...(f1 ? [fixed(e.microF1, 3), fixed(e.macroF1, 3)] : []),
      ...(robust ? [pct(e.robustAccuracy)] : []),
      fixed(e.seconds, 1),
    ]),
  };
}

export function hyperparameterTable(run: Run): Table | undefined {
  const t = run.train?.training;
  if (!t) return undefined;
  return {
    id: `${run.id}-hyperparameters`,
    caption: `Hyperparameters: ${run.title}`,
    columns: ['setting', 'value'],
    rows: Object.entries(t.hyperparameters)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, clip(typeof v === 'string' ? v : JSON.stringify(v), 160)]),
    plain: true,
  };
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Multi-label: clean metrics per label, and robust metrics per label for each attack and epsilon. */
export function perLabelTables(run: Run): Table[] {
  const tables: Table[] = [];
  const clean = run.evals.find((r) => r.perLabel)?.perLabel ?? run.train?.perLabel;
  if (clean) {
    tables.push({
      id: `${run.id}-labels`,
      caption: `Clean metrics per label: ${run.title}`,
      columns: ['label', 'support', 'accuracy', 'precision', 'recall', 'F1'],
      rows: clean.map((l) => [l.label, l.support === undefined ? '-' : String(l.support), pct(l.accuracy), pct(l.precision), pct(l.recall), pct(l.f1)]),
    });
  }
  attacksOf(run).forEach((a, i) => {
    const id = `${run.id}-labels-${i + 1}`;
    const byLabel = (x: string[], y: string[]) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);
    if (a.modality === 'text') {
      const rows = (a.perLabel ?? []).map((l) => [l.label, pct(l.flipRate)]);
      if (rows.length) tables.push({ id, caption: `Flip rate per label under ${a.attack}: ${run.title}`, columns: ['label', 'flip rate'], rows: rows.sort(byLabel) });
      return;
    }
    const rows: string[][] = [];
    for (const e of a.perEpsilon) for (const l of e.perLabel ?? []) rows.push([l.label, eps(e.epsilon), pct(l.robustAccuracy), pct(l.flipRate), pct(l.f1)]);
    if (rows.length) tables.push({ id, caption: `Robustness per label under ${a.attack}: ${run.title}`, columns: ['label', 'eps', 'robust acc', 'flip rate', 'F1'], rows: rows.sort(byLabel) });
  });
  return tables;
}
