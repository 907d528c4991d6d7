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
  /** What the report calls the run: its `--name`, else its model folder, else the model; unique in a report. */
  title: string;
  /** The name before it was made unique (runs of one name are versions of one model). */
  name: string;
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
  /** A wide table drawn to fit the page: headers wrap, smaller type. */
  fit?: boolean;
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

/** The model folder of a results file, resolved (undefined for results without one). */
const folderOf = (r: Results): string | undefined => (r.model.path ? path.resolve(r.model.path) : undefined);

/** The last `k` segments of a model path as written ("runs/fgm/model" -> "fgm/model" for k = 2). */
function pathTail(p: string, k: number): string {
  const parts = p.replace(/[\\/]+$/, '').split(/[\\/]+/).filter(Boolean);
  return parts.slice(-k).join('/') || p;
}

/**
 * Names for runs without `--name`: the model folder's name, with as many parent folders as it takes to tell
 * different folders apart ("plain/model", "fgm/model"); the model's own name when there is no folder.
 */
function folderNames(runs: Run[]): string[] {
  const paths = runs.map((r) => (r.first.model.runName ? undefined : r.first.model.path));
  return runs.map((r, i) => {
    if (r.first.model.runName) return r.first.model.runName;
    const p = paths[i];
    if (!p) return r.first.model.name;
    const mine = path.resolve(p);
    for (let k = 1; k < 8; k++) {
      const name = pathTail(p, k);
      const clash = paths.some((q, j) => q && path.resolve(q) !== mine && pathTail(q, k) === name);
      if (!clash) return name;
    }
    return p;
  });
}

/** "2026-11-22 10:04" from an ISO date (the minute a version was evaluated). */
const minute = (iso: string): string => iso.replace('T', ' ').slice(0, 16);

/**
 * Group results by model: files that name the same model directory (an eval file and the `train-results.json` next
 * to the model) form one run; any other file is a run of its own. A second evaluation of a model with an attack the
 * run already has (the same folder evaluated again later) is a new run: a version. Runs are named by their
 * `--name` (`model.runName`), else their model folder, never by architecture alone when there is a folder; runs that
 * share a name are versions, told apart by the time they were evaluated. Order follows the input.
 */
export function groupRuns(sources: ReportSource[]): Run[] {
  const runs: Run[] = [];
  const byKey = new Map<string, Run[]>();
  const keyOf = (s: ReportSource, i: number) => {
    const folder = folderOf(s.results);
    return folder ? `model:${folder}` : `file:${s.file}:${i}`;
  };
  const newRun = (s: ReportSource, key: string): Run => {
    const run: Run = { id: `run-${runs.length + 1}`, title: '', name: '', files: [], evals: [], first: s.results };
    byKey.set(key, [...(byKey.get(key) ?? []), run]);
    runs.push(run);
    return run;
  };
  // evaluations first: a folder's evaluations are one run, unless one repeats an attack (a later version) or has another --name
  sources.forEach((s, i) => {
    if (s.results.kind === 'train') return;
    const key = keyOf(s, i);
    const named = s.results.model.runName;
    const fits = (run: Run) =>
      !run.evals.some((e) => e.attacks.some((a) => s.results.attacks.some((b) => b.attack === a.attack))) && !run.evals.some((e) => (e.model.runName ?? '') !== (named ?? ''));
    const run = (byKey.get(key) ?? []).find(fits) ?? newRun(s, key);
    if (run.evals.length === 0) run.first = s.results;
    run.files.push(displayPath(s.file));
    run.evals.push(s.results);
  });
  // a training file joins the first evaluation of its folder made after it (else the newest), or is a run of its own
  sources.forEach((s, i) => {
    if (s.results.kind !== 'train') return;
    const key = keyOf(s, i);
    const candidates = (byKey.get(key) ?? []).filter((r) => !r.train);
    const after = candidates.filter((r) => r.first.kind === 'eval' && r.first.createdAt >= s.results.createdAt).sort((a, b) => (a.first.createdAt < b.first.createdAt ? -1 : 1));
    const newest = [...candidates].sort((a, b) => (a.first.createdAt < b.first.createdAt ? 1 : -1))[0];
    const run = after[0] ?? newest ?? newRun(s, key);
    run.files.push(displayPath(s.file));
    run.train = s.results;
  });
  const names = folderNames(runs);
  runs.forEach((r, i) => {
    r.name = names[i];
  });
  runs.forEach((r, i) => {
    const same = runs.filter((o) => o.name === r.name);
    if (same.length === 1) r.title = r.name;
    else {
      // versions of one named run or folder are told apart by when they were evaluated; anything else by number
      const when = minute(r.first.createdAt);
      const sameTime = same.filter((o) => minute(o.first.createdAt) === when).length > 1;
      r.title = sameTime || !identified(r) ? `${r.name} #${i + 1}` : `${r.name} @ ${when}`;
    }
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
  const images = runs.some((r) => imageAttacksOf(r).length > 0);
  if (!images) {
    // text only: no epsilon column (each row is the strongest text attack of a run)
    return {
      id: 'headline',
      caption: 'Clean accuracy and accuracy under the strongest text attack',
      ...runColumn(runs, ['clean acc', 'acc under attack', 'strongest attack', 'success rate'], rows.map((r) => ({ run: r.run, cells: r.cells.slice(1) }))),
    };
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

/**
 * A goal as the `--goal` flag spells it (`untargeted`, `targeted:3`, `flip-label:2`, ...), with the label's name when
 * the model names it: `targeted:1 (ham)`.
 */
export function goalText(goal: { kind: string; [k: string]: unknown }, labelNames?: readonly string[]): string {
  const arg = goal.kind === 'targeted' ? goal.target : goal.kind === 'flip-label' ? goal.label : undefined;
  if (arg === undefined) return goal.kind;
  const named = typeof arg === 'number' && labelNames?.[arg] !== undefined && labelNames[arg] !== String(arg) ? ` (${labelNames[arg]})` : '';
  return `${goal.kind}:${typeof arg === 'string' || typeof arg === 'number' ? arg : JSON.stringify(arg)}${named}`;
}

/** The label names of a run's model (text models always name them; image models may). */
export const labelNamesOf = (run: Run): readonly string[] | undefined => run.first.model.labelNames;

/**
 * The TextAttack summary of every text attack (absent when no results file has one), in short columns so that it
 * fits the page: the counts in one column, rates as percentages.
 */
export function textAttackTable(runs: Run[]): Table | undefined {
  const rows: { run: Run; cells: string[] }[] = [];
  const multi = runs.some((run) => textAttacksOf(run).some((t) => t.microF1Before !== undefined));
  for (const run of runs) {
    for (const t of textAttacksOf(run)) {
      rows.push({ run, cells: [
        t.attack,
        goalText(t.goal, labelNamesOf(run)),
        `${t.successful} / ${t.failed} / ${t.skipped}`,
        pct(t.cleanAccuracy),
        pct(t.robustAccuracy),
        pct(t.attackSuccessRate),
        `${fixed(t.avgPerturbedWordPct, 1)}%`,
        fixed(t.avgWordsPerInput, 1),
        fixed(t.avgQueries, 1),
        t.queryBudget === null ? 'none' : `${t.queryBudget} (${t.budgetExhausted} hit)`,
        ...(multi ? [`${fixed(t.microF1Before, 3)} → ${fixed(t.microF1After, 3)}`] : []),
        fixed(t.wallTimeMs / 1000, 1),
      ] });
    }
  }
  if (rows.length === 0) return undefined;
  const columns = ['attack', 'goal', 'succ / fail / skip', 'orig acc', 'acc under attack', 'success rate', 'words changed', 'words / input', 'queries / input', 'query budget', ...(multi ? ['micro-F1 before → after'] : []), 'seconds'];
  return { id: 'text-attacks', caption: 'Text attacks (TextAttack summary)', ...runColumn(runs, columns, rows), fit: true };
}

/**
 * Success per original class of every single-label text attack: for a spam filter the row that matters is
 * spam (spam → ham is the evasion). Counted from the per-example records; a file that kept only some of them says
 * how many. Absent when there is nothing to count.
 */
export function textClassTable(runs: Run[]): Table | undefined {
  const rows: { run: Run; cells: string[] }[] = [];
  let partial = false;
  for (const run of runs) {
    if (run.first.model.outputKind === 'multi-label') continue;
    for (const t of textAttacksOf(run)) {
      if (t.examples.length === 0) continue;
      if (t.examples.length < t.n) partial = true;
      const byClass = new Map<string, { n: number; skipped: number; successful: number; failed: number; to: Map<string, number> }>();
      for (const x of t.examples) {
        const c = byClass.get(x.label) ?? { n: 0, skipped: 0, successful: 0, failed: 0, to: new Map<string, number>() };
        c.n++;
        c[x.status]++;
        if (x.status === 'successful') c.to.set(x.perturbedPrediction, (c.to.get(x.perturbedPrediction) ?? 0) + 1);
        byClass.set(x.label, c);
      }
      const order = labelNamesOf(run) ?? [];
      const classes = [...byClass.keys()].sort((a, b) => (order.indexOf(a) === -1 ? 1e9 : order.indexOf(a)) - (order.indexOf(b) === -1 ? 1e9 : order.indexOf(b)) || (a < b ? -1 : 1));
      for (const label of classes) {
        const c = byClass.get(label)!;
        const attacked = c.successful + c.failed;
        const to = [...c.to.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
        rows.push({ run, cells: [t.attack, label, `${t.examples.length < t.n ? `${c.n} kept` : String(c.n)}`, String(c.skipped), String(attacked), String(c.successful), attacked ? pct(c.successful / attacked) : '-', to || '-'] });
      }
    }
  }
  if (rows.length === 0) return undefined;
  return {
    id: 'text-classes',
    caption: `Success per original class (an attack on a spam filter matters on spam: spam → ham)${partial ? '; files before compact records kept only some examples' : ''}`,
    ...runColumn(runs, ['attack', 'original class', 'examples', 'skipped (wrong already)', 'attacked', 'successful', 'success rate', 'flipped to'], rows),
  };
}

/** A run named by the user (`--name`) or by its model folder: runs of one such name are versions of one model. */
const identified = (r: Run): boolean => Boolean(r.first.model.runName || r.first.model.path);

/**
 * Runs that share a `--name` or a model folder name (versions of one model), in the order they were evaluated; only
 * names with two or more. Runs known only by their architecture are never versions of each other.
 */
export function versionGroups(runs: Run[]): { name: string; runs: Run[] }[] {
  const byName = new Map<string, Run[]>();
  for (const r of runs) if (r.evals.length && identified(r)) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  return [...byName.entries()]
    .filter(([, rs]) => rs.length > 1)
    .map(([name, rs]) => ({ name, runs: [...rs].sort((a, b) => (a.first.createdAt < b.first.createdAt ? -1 : a.first.createdAt > b.first.createdAt ? 1 : 0)) }));
}

/** The headline number of an attack: robust accuracy at its largest epsilon (image), accuracy under attack (text). */
function attackScore(a: Attack): { label: string; value: number } | undefined {
  if (a.modality === 'text') return { label: a.attack, value: a.robustAccuracy };
  const e = [...a.perEpsilon].sort((x, y) => (x.epsilon === null ? 1 : y.epsilon === null ? -1 : x.epsilon - y.epsilon)).pop();
  return e ? { label: `${a.attack} @ ${eps(e.epsilon)}`, value: e.robustAccuracy } : undefined;
}

/** Versions of one model over time: clean accuracy and accuracy under each attack, with the change from the previous version. */
export function versionTable(group: { name: string; runs: Run[] }, index: number): Table {
  const labels: string[] = [];
  const scores = group.runs.map((r) => {
    const m = new Map<string, number>();
    for (const a of attacksOf(r)) {
      const s = attackScore(a);
      if (!s) continue;
      if (!labels.includes(s.label)) labels.push(s.label);
      m.set(s.label, s.value);
    }
    return m;
  });
  const delta = (now: number | undefined, before: number | undefined) => (now === undefined || before === undefined ? '' : ` (${now - before >= 0 ? '+' : '−'}${(100 * Math.abs(now - before)).toFixed(2)} pt)`);
  return {
    id: `versions-${index + 1}`,
    caption: `Robustness over versions: ${group.name} (oldest first; change from the previous version in percentage points)`,
    columns: ['version', 'evaluated', 'file', 'clean acc', ...labels.map((l) => `acc under ${l}`)],
    rows: group.runs.map((r, i) => {
      const clean = cleanOf(r)?.accuracy;
      const prevClean = i > 0 ? cleanOf(group.runs[i - 1])?.accuracy : undefined;
      return [
        `v${i + 1}`,
        minute(r.first.createdAt),
        r.files.join(', '),
        pct(clean) + delta(clean, prevClean),
        ...labels.map((l) => {
          const v = scores[i].get(l);
          return v === undefined ? '-' : pct(v) + delta(v, i > 0 ? scores[i - 1].get(l) : undefined);
        }),
      ];
    }),
  };
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
