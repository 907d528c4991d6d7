/**
 * The robustness gate: is a results file at least as robust as a baseline results file (within a tolerated drop,
 * beyond sampling noise), and does it meet absolute thresholds? `robustnessGate` returns a verdict per check and a
 * Markdown summary (for `$GITHUB_STEP_SUMMARY`); `assertRobustnessGate` throws when the gate fails, for test runners.
 * `parry gate` is the same call from the command line.
 *
 * What is checked:
 * - against a baseline: clean accuracy (the results' clean section), robust accuracy per image attack and epsilon,
 *   accuracy under attack and attack success rate per text attack; every attack (and epsilon) of the baseline must be
 *   in the current file, or the gate fails;
 * - against thresholds: the same metrics by key (`'parry/pgd@0.3'`, `'parry/pwws'`), the measured value against the
 *   limit; a key the current file lacks fails the gate.
 *
 * Statistics (see gate-stats.ts): a regression fails only when the whole two-sided `confidence` interval of the change
 * lies beyond `maxDrop`, i.e. a one-sided test at (1 - confidence) / 2. When both files carry per-example outcomes of
 * the same examples (same data, split, n and seed) the interval is paired (Newcombe's square-and-add for paired
 * proportions, with McNemar's exact p); otherwise it is Newcombe's hybrid score interval for independent samples.
 *
 * Incomparable files (another results version, model input or labels, data set, split, n, or an attack run with other
 * options, epsilons, goal or query budget) are refused with one `UsageError` line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ParryGateConfig, type ParryGateMaxDrop, type ParryGateThresholds, ParryError, UsageError, z } from '@parry/core';
import { mcnemarExactP, newcombeInterval, pairedNewcombeInterval, twoSidedZ, wilsonInterval } from './gate-stats.js';
import { type AttackEntry, type ImageAttackEntry, type Results, type TextAttackEntry, readResults, validateResults } from './results.js';

export type GateMetric = 'cleanAccuracy' | 'robustAccuracy' | 'attackSuccessRate';

const METRICS: readonly GateMetric[] = ['cleanAccuracy', 'robustAccuracy', 'attackSuccessRate'];
const rate = z.number().min(0).max(1);
const drop = z.number().min(0).lt(1);

/** The `gate` section of a config file (core's `ParryGateConfig`), checked at run time. */
export const gateConfigSchema = z.strictObject({
  baseline: z.string().min(1).optional(),
  maxDrop: z.union([drop, z.strictObject({ cleanAccuracy: drop.optional(), robustAccuracy: drop.optional(), attackSuccessRate: drop.optional() })]).optional(),
  confidence: z.number().gt(0).lt(1).optional(),
  thresholds: z
    .strictObject({
      cleanAccuracy: rate.optional(),
      robustAccuracy: z.record(z.string().min(1), rate).optional(),
      attackSuccessRate: z.record(z.string().min(1), rate).optional(),
    })
    .optional(),
});
// the schema's type is core's ParryGateConfig, in both directions
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _gateConfigIsCore: Same<z.infer<typeof gateConfigSchema>, ParryGateConfig> = true;
void _gateConfigIsCore;

/** A results file to gate: its path, or a results object (version 1 is migrated in memory, as on read). */
export type GateResultsSource = string | object;

export interface RobustnessGateOptions {
  /** The baseline results (a path or a results object); without it only `thresholds` are checked. */
  baseline?: GateResultsSource;
  thresholds?: ParryGateThresholds;
  /** Tolerated regression against the baseline, for every metric or per metric (default 0: any drop beyond noise fails). */
  maxDrop?: number | ParryGateMaxDrop;
  /** Two-sided confidence level of the intervals (default 0.95: a regression fails at one-sided 2.5%). */
  confidence?: number;
}

/** One check of the gate. Rates are in 0..1; `change` and `interval` are current minus baseline. */
export interface GateCheck {
  /** `clean`, `'<attack>@<eps>'` (image) or `'<attack>'` (text). */
  key: string;
  metric: GateMetric;
  /** `baseline`: compared with the baseline; `threshold`: compared with a limit; `missing`: named but not in the current file. */
  kind: 'baseline' | 'threshold' | 'missing';
  passed: boolean;
  /** One sentence: what was compared and why it passed or failed. */
  reason: string;
  current?: number;
  /** Examples behind `current` (the denominator). */
  n?: number;
  baseline?: number;
  nBaseline?: number;
  /** Threshold checks: the limit (a minimum, or a maximum for the attack success rate). */
  limit?: number;
  /** Baseline checks: the tolerated regression. */
  maxDrop?: number;
  /** Baseline checks: current minus baseline. */
  change?: number;
  /** Baseline checks: confidence interval of current minus baseline; threshold checks: Wilson interval of the current value. */
  interval?: [number, number];
  /** Baseline checks: how the interval was computed. */
  test?: 'paired' | 'unpaired';
  /** Paired checks: McNemar's exact p-value of any change, with the discordant counts. */
  mcnemar?: { p: number; lost: number; gained: number };
  /** A regression larger than `maxDrop` that sampling noise could explain: passed, and said so. */
  withinNoise?: boolean;
}

export interface GateFileInfo {
  /** The path given, or 'current' / 'baseline' for objects. */
  label: string;
  model: string;
  modality: 'image' | 'text';
  dataset: string;
  /** Results version of the file as written (1 is migrated in memory). */
  version: number;
}

export interface GateVerdict {
  passed: boolean;
  checks: GateCheck[];
  /** Things compared loosely or not at all (an attack only in the current file, data paths that differ by folder). */
  notes: string[];
  confidence: number;
  current: GateFileInfo;
  baseline?: GateFileInfo;
  /** How noise is handled, one paragraph (also at the end of `markdown`). */
  method: string;
  /** The Markdown summary (GitHub-flavoured: a heading, a table, the failed checks, the method). */
  markdown: string;
}

/** The gate failed: `verdict` has the checks. Exit code 1 (the run is fine; the model regressed). */
export class RobustnessGateError extends ParryError {
  readonly verdict: GateVerdict;
  constructor(verdict: GateVerdict) {
    const failed = verdict.checks.filter((c) => !c.passed);
    super(`robustness gate failed: ${failed.length} of ${verdict.checks.length} checks (${failed.map((c) => `${c.key} ${metricName(c.metric, verdict.current.modality)}: ${c.reason}`).join('; ')})`, 1);
    this.verdict = verdict;
  }
}

const METRIC_NAMES: Record<GateMetric, string> = {
  cleanAccuracy: 'clean accuracy',
  robustAccuracy: 'robust accuracy',
  attackSuccessRate: 'attack success rate',
};

/** The metric as the summary names it: TextAttack's "accuracy under attack" for text models. */
const metricName = (metric: GateMetric, modality: 'image' | 'text'): string => (metric === 'robustAccuracy' && modality === 'text' ? 'accuracy under attack' : METRIC_NAMES[metric]);

interface Loaded {
  results: Results;
  version: number;
  label: string;
}

function load(source: GateResultsSource, role: 'current' | 'baseline'): Loaded {
  if (typeof source === 'string') {
    const results = readResults(source);
    // readResults migrated a v1 file in memory; the version as written decides comparability
    const version = Number((JSON.parse(fs.readFileSync(source, 'utf8')) as { version?: unknown }).version);
    return { results, version, label: source };
  }
  if (source === null || typeof source !== 'object') throw new UsageError(`robustnessGate: the ${role} results must be a path or a results object, got ${source === null ? 'null' : typeof source}`);
  const version = Number((source as { version?: unknown }).version);
  return { results: validateResults(source, `${role} results`), version, label: role };
}

/** Canonical JSON (object keys sorted), to compare options and goals. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

const epsLabel = (eps: number | null): string => (eps === null ? 'inf' : String(eps));
const show = (v: unknown): string => (typeof v === 'string' ? v : canonical(v));

/** One entry per attack name; two entries with one name cannot be told apart. */
function byName(l: Loaded): Map<string, AttackEntry> {
  const m = new Map<string, AttackEntry>();
  for (const a of l.results.attacks) {
    if (m.has(a.attack)) throw new UsageError(`${l.label} has two entries for ${a.attack}; the gate compares one entry per attack: evaluate it once per results file`);
    m.set(a.attack, a);
  }
  return m;
}

/** Refuse files that do not measure the same thing, in one line; returns notes on what was compared loosely. */
function checkComparable(cur: Loaded, base: Loaded): string[] {
  const notes: string[] = [];
  const refuse = (what: string, a: unknown, b: unknown, fix: string): never => {
    throw new UsageError(`cannot compare ${cur.label} with baseline ${base.label}: ${what} differs (${show(a)} vs ${show(b)}); ${fix}`);
  };
  if (cur.version !== base.version) {
    refuse('the results version', cur.version, base.version, 're-run the older one with this Parry so both files are written in the same results version');
  }
  const cm = cur.results.model;
  const bm = base.results.model;
  const sameModel = 'gate a model against a baseline of the same task (same inputs and labels)';
  if (cm.modality !== bm.modality) refuse('the model modality', cm.modality, bm.modality, sameModel);
  if (cm.modality === 'image' && bm.modality === 'image') {
    if (canonical(cm.inputShape) !== canonical(bm.inputShape)) refuse('the model input shape', cm.inputShape, bm.inputShape, sameModel);
    if (cm.numClasses !== bm.numClasses) refuse('the number of classes', cm.numClasses, bm.numClasses, sameModel);
    if (canonical(cm.bounds) !== canonical(bm.bounds)) refuse('the model input bounds', cm.bounds, bm.bounds, sameModel);
  }
  if (cm.modality === 'text' && bm.modality === 'text') {
    if (canonical(cm.labelNames) !== canonical(bm.labelNames)) refuse('the label names', cm.labelNames, bm.labelNames, sameModel);
    if (cm.outputKind !== bm.outputKind) refuse('the output kind', cm.outputKind, bm.outputKind, sameModel);
  }
  const cd = cur.results.dataset;
  const bd = base.results.dataset;
  const sameData = 'evaluate both on the same data (same --data, --split and -n)';
  if (cd.name !== bd.name) refuse('the data set', cd.name, bd.name, sameData);
  if (cd.split !== bd.split) refuse('the split', cd.split, bd.split, sameData);
  if (cd.n !== bd.n) refuse('the number of examples', cd.n, bd.n, sameData);
  if (cd.source !== bd.source) {
    // a data folder given by another path on another machine: the same file name is accepted, and said so
    if (path.basename(cd.source) !== path.basename(bd.source)) refuse('the data source', cd.source, bd.source, sameData);
    notes.push(`The data sources differ only by folder (${cd.source} vs ${bd.source}); compared as the same data.`);
  }
  // the token limit and truncation strategy belong to the model being gated (a new version may change them): noted, not refused
  const ct = cur.results.truncation;
  const bt = base.results.truncation;
  if (ct && bt && (ct.strategy !== bt.strategy || ct.maxLength !== bt.maxLength)) {
    notes.push(`The truncation differs (${ct.strategy}, ${ct.maxLength} tokens vs ${bt.strategy}, ${bt.maxLength} tokens): the models saw different parts of long texts.`);
  }
  const ca = byName(cur);
  for (const [name, b] of byName(base)) {
    const c = ca.get(name);
    if (!c) continue; // a missing attack is a failed check, not a refusal
    const sameAttack = `run ${name} with the same options in both files (--opt, --eps, -n), or gate against thresholds only`;
    if (c.n !== b.n) refuse(`the number of examples of ${name}`, c.n, b.n, sameAttack);
    if (canonical(c.options) !== canonical(b.options)) refuse(`the options of ${name}`, c.options, b.options, sameAttack);
    if (c.modality === 'image' && b.modality === 'image') {
      if (c.norm !== b.norm) refuse(`the norm of ${name}`, c.norm, b.norm, sameAttack);
      const ce = c.perEpsilon.map((e) => epsLabel(e.epsilon));
      const be = b.perEpsilon.map((e) => epsLabel(e.epsilon));
      if (canonical([...ce].sort()) !== canonical([...be].sort())) refuse(`the epsilons of ${name}`, ce.join(', '), be.join(', '), sameAttack);
    }
    if (c.modality === 'text' && b.modality === 'text') {
      if (canonical(c.goal) !== canonical(b.goal)) refuse(`the goal of ${name}`, c.goal, b.goal, sameAttack);
      if (c.queryBudget !== b.queryBudget) refuse(`the query budget of ${name}`, c.queryBudget, b.queryBudget, sameAttack);
    }
  }
  return notes;
}

/** A measured rate as a count out of n. */
interface Measured {
  k: number;
  n: number;
  /** Per-example outcome (true = counted in k), when the file has one for every example. */
  perExample?: boolean[];
}

const countOf = (rateValue: number, n: number): number => Math.round(rateValue * n);

/** Per-example robustness of an image attack at one epsilon, from its success bits (only when they agree with the robust count). */
function imageRobust(a: ImageAttackEntry, k: number): Measured {
  const e = a.perEpsilon[k];
  const robust = countOf(e.robustAccuracy, a.n);
  const bits = a.successBits?.[k];
  // a '0' is robust only if every clean-misclassified example counts as a success; the count of '0's says whether it does
  const perExample = bits !== undefined && bits.length === a.n && [...bits].filter((b) => b === '0').length === robust ? [...bits].map((b) => b === '0') : undefined;
  return { k: robust, n: a.n, perExample };
}

/**
 * Per-example robustness of a text attack (status `failed`) from its records: every example since compact records,
 * the first attacked ones in older files. Used only when the records cover every attacked example and agree with the
 * success bits.
 */
function textRobust(a: TextAttackEntry): Measured {
  const byIndex = new Map(a.examples.map((e) => [e.index, e.status]));
  const attacked = a.examples.filter((e) => e.status !== 'skipped').length;
  let perExample: boolean[] | undefined;
  if (byIndex.size === a.examples.length && attacked === a.successful + a.failed && [...byIndex.keys()].every((i) => i < a.n)) {
    perExample = Array.from({ length: a.n }, (_, i) => byIndex.get(i) === 'failed');
    // the records must agree with the success bits, or they are not the records of this run
    if (a.examples.some((e) => (a.successBits[e.index] === '1') !== (e.status === 'successful'))) perExample = undefined;
  }
  return { k: a.failed, n: a.n, perExample };
}

interface Found {
  key: string;
  robust: Measured;
  /** Attack success rate as a count (text: successful of attacked; image: fooled of clean-correct). */
  success: Measured;
}

/** Every (attack, epsilon) of a results file by key. */
function measurements(r: Results): Map<string, Found> {
  const m = new Map<string, Found>();
  for (const a of r.attacks) {
    if (a.modality === 'image') {
      const correct = countOf(a.cleanAccuracy, a.n);
      a.perEpsilon.forEach((e, k) => {
        const key = `${a.attack}@${epsLabel(e.epsilon)}`;
        m.set(key, { key, robust: imageRobust(a, k), success: { k: countOf(e.attackSuccessRate, correct), n: correct } });
      });
    } else {
      m.set(a.attack, { key: a.attack, robust: textRobust(a), success: { k: a.successful, n: a.successful + a.failed } });
    }
  }
  return m;
}

/** A threshold key in the form of `measurements`' keys: built-in names get their namespace, epsilons parse as numbers. */
function normalizeKey(key: string, modality: 'image' | 'text', where: string, keys: Iterable<string>): string {
  const at = key.lastIndexOf('@');
  const rawName = at >= 0 ? key.slice(0, at) : key;
  const name = rawName.includes('/') ? rawName : `parry/${rawName}`;
  if (modality === 'text') {
    if (at >= 0) throw new UsageError(`${where}[${JSON.stringify(key)}]: text attacks have no epsilon; write ${JSON.stringify(name)}`);
    return name;
  }
  if (at < 0) throw new UsageError(`${where}[${JSON.stringify(key)}]: name the epsilon of the image attack, e.g. ${JSON.stringify(`${name}@0.3`)}`);
  const epsText = key.slice(at + 1).trim();
  const eps = /^(inf|infinity)$/i.test(epsText) ? Infinity : Number(epsText);
  if (epsText === '' || Number.isNaN(eps) || eps < 0) throw new UsageError(`${where}[${JSON.stringify(key)}]: ${JSON.stringify(epsText)} is not an epsilon; write e.g. ${JSON.stringify(`${name}@0.3`)}`);
  // the same epsilon as written in the file (0.30 matches 0.3)
  for (const k of keys) {
    const kAt = k.lastIndexOf('@');
    if (k.slice(0, kAt) !== name) continue;
    const kEps = k.slice(kAt + 1) === 'inf' ? Infinity : Number(k.slice(kAt + 1));
    if (kEps === eps || Math.abs(kEps - eps) <= 1e-9 * Math.max(1, Math.abs(eps))) return k;
  }
  return `${name}@${eps === Infinity ? 'inf' : String(eps)}`;
}

const pp = (v: number): string => `${v > 0 ? '+' : v < 0 ? '-' : ''}${Math.abs(v * 100).toFixed(2)} pp`;
const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

function maxDropOf(o: RobustnessGateOptions, metric: GateMetric): number {
  const m = o.maxDrop;
  if (m === undefined) return 0;
  return typeof m === 'number' ? m : (m[metric] ?? 0);
}

/** Compare one measurement with the baseline's. Accuracies regress downwards, the attack success rate upwards. */
function compare(key: string, metric: GateMetric, cur: Measured, base: Measured, maxDrop: number, confidence: number, canPair: boolean): GateCheck {
  const z = twoSidedZ(confidence);
  const higherIsBetter = metric !== 'attackSuccessRate';
  const pc = cur.n ? cur.k / cur.n : 0;
  const pb = base.n ? base.k / base.n : 0;
  const change = pc - pb;
  let interval: [number, number];
  let test: 'paired' | 'unpaired' = 'unpaired';
  let mcnemar: GateCheck['mcnemar'];
  if (canPair && cur.perExample && base.perExample && cur.perExample.length === base.perExample.length) {
    const t = { both: 0, onlyFirst: 0, onlySecond: 0, neither: 0 };
    cur.perExample.forEach((c, i) => {
      const b = base.perExample![i];
      if (c && b) t.both++;
      else if (c) t.onlyFirst++;
      else if (b) t.onlySecond++;
      else t.neither++;
    });
    interval = pairedNewcombeInterval(t, z); // current - baseline
    test = 'paired';
    // lost: counted in the baseline only (for accuracies: robust before, not now)
    mcnemar = { p: mcnemarExactP(t.onlyFirst, t.onlySecond), lost: higherIsBetter ? t.onlySecond : t.onlyFirst, gained: higherIsBetter ? t.onlyFirst : t.onlySecond };
  } else {
    interval = newcombeInterval(cur.k, cur.n, base.k, base.n, z);
  }
  // the regression and its interval, positive = worse
  const regression = higherIsBetter ? -change : change;
  const [regLo, regHi] = higherIsBetter ? [-interval[1], -interval[0]] : [interval[0], interval[1]];
  const failed = regLo > maxDrop;
  const withinNoise = !failed && regression > maxDrop;
  const verb = higherIsBetter ? (change < 0 ? 'dropped' : 'rose') : change > 0 ? 'rose' : 'fell';
  const moved = change === 0 ? 'unchanged' : `${verb} ${Math.abs(change * 100).toFixed(2)} pp`;
  const ci = `${+(confidence * 100).toFixed(2)}% CI ${pp(interval[0])} to ${pp(interval[1])}`;
  const allowed = `${(maxDrop * 100).toFixed(2)} pp`;
  const reason = failed
    ? `${moved} (${ci}): worse than the ${allowed} allowed, beyond sampling noise`
    : withinNoise
      ? `${moved} (${ci}): more than the ${allowed} allowed, but within sampling noise at ${cur.n} examples`
      : `${moved} (${ci}), within the ${allowed} allowed`;
  return { key, metric, kind: 'baseline', passed: !failed, reason, current: pc, n: cur.n, baseline: pb, nBaseline: base.n, maxDrop, change, interval, test, ...(mcnemar ? { mcnemar } : {}), ...(withinNoise ? { withinNoise } : {}) };
}

function thresholdCheck(key: string, metric: GateMetric, m: Measured, limit: number, z: number): GateCheck {
  const value = m.n ? m.k / m.n : 0;
  const atMost = metric === 'attackSuccessRate';
  const passed = atMost ? value <= limit : value >= limit;
  const interval = wilsonInterval(m.k, m.n, z);
  const reason = `${pct(value)} of ${m.n} (Wilson ${pct(interval[0])} to ${pct(interval[1])}) ${passed ? 'meets' : 'misses'} the limit ${atMost ? '<=' : '>='} ${pct(limit)}`;
  return { key, metric, kind: 'threshold', passed, reason, current: value, n: m.n, limit, interval };
}

const missing = (key: string, metric: GateMetric, where: string, file: string): GateCheck => ({
  key,
  metric,
  kind: 'missing',
  passed: false,
  reason: `named in ${where} but not in ${file}`,
});

function fileInfo(l: Loaded): GateFileInfo {
  const d = l.results.dataset;
  return { label: l.label, model: l.results.model.name, modality: l.results.model.modality, dataset: `${d.name} ${d.split}, ${d.n} examples`, version: l.version };
}

function methodText(confidence: number, maxDropText: string): string {
  const c = `${+(confidence * 100).toFixed(2)}%`;
  const one = `${+(((1 - confidence) / 2) * 100).toFixed(3)}%`;
  return (
    `A change against the baseline fails only when the whole two-sided ${c} confidence interval of the change lies beyond the allowed drop (${maxDropText}), ` +
    `a one-sided test at ${one}: a drop that sampling noise could explain passes, and is marked "within noise". ` +
    `Paired checks (both files hold per-example outcomes for the same examples: same data, split, n and seed) use Newcombe's square-and-add interval ` +
    `for paired proportions (1998, method 10) and report McNemar's exact p-value of any change; the others use Newcombe's hybrid score interval for ` +
    `two independent proportions (1998, method 10). Thresholds compare the measured value with the limit; its Wilson ${c} interval is shown.`
  );
}

/**
 * Gate a results file: compare it with a baseline results file (within `maxDrop`, beyond sampling noise) and/or with
 * absolute `thresholds`. Returns the verdict with a Markdown summary; never throws for a regression (see
 * `assertRobustnessGate`). Throws a `UsageError`/`InputError` (exit 2, one line) for an unreadable or invalid file,
 * incomparable files, bad options, or nothing to check.
 *
 * ```ts
 * const verdict = robustnessGate('runs/results.json', { baseline: 'baseline/results.json', maxDrop: 0.02, thresholds: { robustAccuracy: { 'parry/pgd@0.3': 0.85 } } });
 * if (!verdict.passed) console.log(verdict.markdown);
 * ```
 */
export function robustnessGate(current: GateResultsSource, options: RobustnessGateOptions = {}): GateVerdict {
  const { baseline: baselineSource, ...rest } = options;
  const parsed = gateConfigSchema.omit({ baseline: true }).safeParse(rest);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`gate options: ${i.path.join('.') || '(root)'}: ${i.message.replace(/\s*\n\s*/g, ' ')}; see the gate section in docs/robustness-gate.md`);
  }
  const o: RobustnessGateOptions = parsed.data;
  const th = o.thresholds ?? {};
  const hasThresholds = th.cleanAccuracy !== undefined || Object.keys(th.robustAccuracy ?? {}).length > 0 || Object.keys(th.attackSuccessRate ?? {}).length > 0;
  if (baselineSource === undefined && !hasThresholds) {
    throw new UsageError('nothing to gate: give a baseline results file (--baseline) or thresholds (the gate section of parry.config.ts)');
  }
  const confidence = o.confidence ?? 0.95;
  const z = twoSidedZ(confidence);
  const cur = load(current, 'current');
  const base = baselineSource !== undefined ? load(baselineSource, 'baseline') : undefined;
  const notes = base ? checkComparable(cur, base) : [];
  byName(cur); // refuse duplicate names even without a baseline
  const checks: GateCheck[] = [];
  const curM = measurements(cur.results);

  if (base) {
    const baseM = measurements(base.results);
    const inBaseline = base.label === 'baseline' ? 'the baseline' : `the baseline ${base.label}`;
    const sameExamples = cur.results.dataset.source === base.results.dataset.source && cur.results.seed === base.results.seed;
    const cc = cur.results.clean;
    const bc = base.results.clean;
    if (cc && bc) {
      checks.push(compare('clean', 'cleanAccuracy', { k: countOf(cc.accuracy, cc.n), n: cc.n }, { k: countOf(bc.accuracy, bc.n), n: bc.n }, maxDropOf(o, 'cleanAccuracy'), confidence, false));
    } else if (bc) {
      checks.push(missing('clean', 'cleanAccuracy', inBaseline, `${cur.label} (no clean section)`));
    }
    for (const [key, b] of baseM) {
      const c = curM.get(key);
      if (!c) {
        checks.push(missing(key, 'robustAccuracy', inBaseline, cur.label));
        continue;
      }
      checks.push(compare(key, 'robustAccuracy', c.robust, b.robust, maxDropOf(o, 'robustAccuracy'), confidence, sameExamples));
      if (cur.results.model.modality === 'text') checks.push(compare(key, 'attackSuccessRate', c.success, b.success, maxDropOf(o, 'attackSuccessRate'), confidence, false));
    }
    for (const key of curM.keys()) if (!baseM.has(key)) notes.push(`${key} is not in the baseline; not compared with it.`);
  }

  const modality = cur.results.model.modality;
  if (th.cleanAccuracy !== undefined) {
    const cc = cur.results.clean;
    checks.push(cc ? thresholdCheck('clean', 'cleanAccuracy', { k: countOf(cc.accuracy, cc.n), n: cc.n }, th.cleanAccuracy, z) : missing('clean', 'cleanAccuracy', 'thresholds.cleanAccuracy', `${cur.label} (no clean section)`));
  }
  for (const metric of ['robustAccuracy', 'attackSuccessRate'] as const) {
    for (const [rawKey, limit] of Object.entries(th[metric] ?? {})) {
      const key = normalizeKey(rawKey, modality, `thresholds.${metric}`, curM.keys());
      const m = curM.get(key);
      if (!m) checks.push(missing(key, metric, `thresholds.${metric}`, cur.label));
      else checks.push(thresholdCheck(key, metric, metric === 'robustAccuracy' ? m.robust : m.success, limit, z));
    }
  }

  if (checks.length === 0) {
    // only a baseline without a clean section or attacks gets here (each threshold is a check)
    const which = base && base.label !== 'baseline' ? `baseline ${base.label}` : 'the baseline';
    throw new UsageError(`nothing to compare: ${which} has no clean section and no attacks; pass a results.json written by \`parry eval\``);
  }
  const drops = METRICS.map((m) => maxDropOf(o, m));
  const maxDropText = drops.every((d) => d === drops[0]) ? `maxDrop ${(drops[0] * 100).toFixed(2)} pp` : METRICS.map((m, i) => `${m} ${(drops[i] * 100).toFixed(2)} pp`).join(', ');
  const method = methodText(confidence, maxDropText);
  const verdict: GateVerdict = {
    passed: checks.every((c) => c.passed),
    checks,
    notes,
    confidence,
    current: fileInfo(cur),
    ...(base ? { baseline: fileInfo(base) } : {}),
    method,
    markdown: '',
  };
  verdict.markdown = renderGateMarkdown(verdict);
  return verdict;
}

/** `robustnessGate`, throwing a `RobustnessGateError` (exit code 1, the failed checks in its message) when the gate fails. */
export function assertRobustnessGate(current: GateResultsSource, options: RobustnessGateOptions = {}): GateVerdict {
  const verdict = robustnessGate(current, options);
  if (!verdict.passed) throw new RobustnessGateError(verdict);
  return verdict;
}

/** A table cell: one line, pipes escaped (GitHub tables split on them even inside code spans). */
const cell = (s: string): string => s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
const code = (s: string): string => `\`${cell(s).replace(/`/g, "'")}\``;

/** The verdict as GitHub-flavoured Markdown: a heading with the outcome, one table row per check, the failures, notes and the method. */
export function renderGateMarkdown(v: GateVerdict): string {
  const failed = v.checks.filter((c) => !c.passed);
  const conf = `${+(v.confidence * 100).toFixed(2)}%`;
  const lines: string[] = [];
  lines.push(`## Robustness gate: ${v.passed ? 'passed' : 'FAILED'}`, '');
  lines.push(`${v.passed ? 'All' : `${failed.length} of`} ${v.checks.length} checks ${v.passed ? 'passed' : 'failed'}.`, '');
  const file = (f: GateFileInfo) => `${code(f.label)} (model ${code(f.model)}, ${cell(f.dataset)})`;
  lines.push(`- current: ${file(v.current)}`);
  if (v.baseline) lines.push(`- baseline: ${file(v.baseline)}`);
  lines.push('');
  lines.push(`| result | check | metric | current | baseline or limit | change | ${conf} interval | test |`);
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const c of v.checks) {
    const result = c.passed ? (c.withinNoise ? 'pass (within noise)' : 'pass') : '**FAIL**';
    const current = c.current === undefined ? 'missing' : `${pct(c.current)} (n=${c.n})`;
    let ref = '';
    let change = '';
    let interval = '';
    let test = '';
    if (c.kind === 'baseline') {
      ref = `${pct(c.baseline!)} (n=${c.nBaseline})`;
      const dir = c.metric === 'attackSuccessRate' ? `rise <= ${(c.maxDrop! * 100).toFixed(2)} pp` : `drop <= ${(c.maxDrop! * 100).toFixed(2)} pp`;
      change = `${pp(c.change!)} (${dir})`;
      interval = `${pp(c.interval![0])} to ${pp(c.interval![1])}`;
      test = c.test === 'paired' ? `paired; McNemar p${c.mcnemar!.p < 0.0001 ? '<0.0001' : `=${c.mcnemar!.p.toFixed(4)}`} (${c.mcnemar!.lost} lost, ${c.mcnemar!.gained} gained)` : 'unpaired';
    } else if (c.kind === 'threshold') {
      ref = `${c.metric === 'attackSuccessRate' ? '<=' : '>='} ${pct(c.limit!)}`;
      interval = `${pct(c.interval![0])} to ${pct(c.interval![1])}`;
      test = 'threshold (Wilson)';
    } else {
      ref = cell(c.reason);
    }
    lines.push(`| ${result} | ${code(c.key)} | ${metricName(c.metric, v.current.modality)} | ${current} | ${ref} | ${change} | ${interval} | ${test} |`);
  }
  lines.push('');
  if (failed.length) {
    lines.push('### Failed checks', '');
    for (const c of failed) lines.push(`- ${code(c.key)} ${metricName(c.metric, v.current.modality)}: ${cell(c.reason)}`);
    lines.push('');
  }
  if (v.notes.length) {
    lines.push('### Notes', '');
    for (const n of v.notes) lines.push(`- ${cell(n)}`);
    lines.push('');
  }
  lines.push(`**How noise is handled.** ${v.method}`, '');
  return lines.join('\n');
}
