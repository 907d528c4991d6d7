/**
 * `mergeResults`: the shard outputs of one sharded evaluation (`parry eval --shard i/N`) combined into the results of
 * the unsharded run. Every summary number is recomputed from the shards' per-example values with the functions the
 * unsharded run uses (in example order), so the merged file equals the single-process one except for timing and
 * provenance (wall times are summed; `createdAt`, `command` and `environment` are shard 0's).
 */
import { InputError, summarizeTextAttack, type TextAttackRecord } from '@parry/core';
import {
  type ImageAttackEntry,
  readResults,
  type Results,
  type ShardSection,
  stat,
  type TextAttackEntry,
  textSummaryFields,
  validateResults,
} from '@parry/metrics';
import { shardBlock } from './shard.js';

/** One shard output: its file name (for messages) and its contents. */
export interface ShardOutput {
  source: string;
  results: Results;
}

type Sharded = ShardOutput & { shard: ShardSection };
type ShardValues = ShardSection['attacks'][number];
type ImageValues = Extract<ShardValues, { perEpsilon: unknown }>;
type TextValues = Extract<ShardValues, { records: unknown }>;

/** The note `summarizeTextAttack` adds from the records (recomputed for the merged records). */
const TRUNCATION_NOTE = / texts were cut by the model's token limit: /;

/** Which hashes two shards both carry (results written before `model.sha256` / `dataset.sha256` have none). */
interface Hashed {
  model: boolean;
  data: boolean;
}

/** An object without some of its keys. */
function without<T extends object>(o: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as Partial<T>;
}

/**
 * What must be equal in every shard of one run, field by field, with the name used when it is not. Hashes are compared
 * when both shards have them; then the model's folder and the data's source path may differ (another machine's paths).
 */
function identity(r: Results, hashed: Hashed): Array<[string, unknown]> {
  const s = r.shard!;
  return [
    ['kind', r.kind],
    ['seed', r.seed],
    ['model weights hash (model.sha256)', hashed.model ? r.model.sha256 : null],
    ['model', without(r.model, hashed.model ? ['sha256', 'path'] : ['sha256'])],
    ['data hash (dataset.sha256)', hashed.data ? r.dataset.sha256 : null],
    ['dataset', without(r.dataset, hashed.data ? ['sha256', 'source'] : ['sha256'])],
    ['shard count', s.count],
    ['total examples', s.total],
    ['shard unit (batch size)', s.unit],
    ['clean metrics', [r.clean ?? null, r.perLabel ?? null]],
    ['clean correctness per example', s.cleanBits ?? null],
    ['image examples kept', s.imageExamples ?? null],
    ['truncation', r.truncation ?? null],
    ['attacks', r.attacks.map((a) => a.attack)],
    ...r.attacks.map((a, k): [string, unknown] => [
      `attack ${a.attack} configuration`,
      a.modality === 'image'
        ? { norm: a.norm, options: a.options, epsilons: a.perEpsilon.map((e) => e.epsilon) }
        : { goal: a.goal, options: a.options, queryBudget: a.queryBudget, k },
    ]),
  ];
}

/** The backend a results file was computed on (`environment.backend`: name and kernel threads), when recorded. */
function backendOf(r: Results): { name: string; threads: number } | undefined {
  const b = r.environment.backend as { name?: unknown; threads?: unknown } | null | undefined;
  return b && typeof b === 'object' && typeof b.name === 'string' && typeof b.threads === 'number' ? { name: b.name, threads: b.threads } : undefined;
}

const fail = (msg: string) => new InputError(msg);

/** Check that the outputs are the N shards of one run, each once; returns them in shard order. */
function checkShards(outputs: readonly ShardOutput[]): Sharded[] {
  if (outputs.length === 0) throw fail('no shard outputs to merge; pass the results files of `parry eval --shard i/N`, e.g. parry merge shard-*.json -o merged.json');
  for (const o of outputs) {
    if (!o.results.shard) throw fail(`${o.source} is not the output of one shard (it has no shard section); pass the files written by \`parry eval --shard i/N\``);
    if (o.results.kind !== 'eval') throw fail(`${o.source} is a training results file; pass the files written by \`parry eval --shard i/N\``);
  }
  const list = outputs as Sharded[];
  for (const o of list) Object.assign(o, { shard: o.results.shard });
  const first = list[0];
  const firstBackend = backendOf(first.results);
  for (const o of list.slice(1)) {
    const hashed = { model: !!(first.results.model.sha256 && o.results.model.sha256), data: !!(first.results.dataset.sha256 && o.results.dataset.sha256) };
    const want = identity(first.results, hashed);
    const got = identity(o.results, hashed);
    const key = (v: unknown) => JSON.stringify(v);
    const at = want.findIndex(([name, v], k) => got[k]?.[0] !== name || key(got[k][1]) !== key(v));
    const bad = at >= 0 ? want[at][0] : want.length !== got.length ? 'attacks' : undefined;
    if (bad) throw fail(`${o.source} is a shard of another run than ${first.source}: its ${bad} differs; merge the shards of one run (same model, data, attacks, seed and --shard i/N count)`);
    // bit-exact shards need the same kernels: another backend or thread count may round differently
    const b = backendOf(o.results);
    if (firstBackend && b && (b.name !== firstBackend.name || b.threads !== firstBackend.threads)) {
      const { name, threads } = firstBackend;
      const how = name === 'tensorflow' ? `--backend tensorflow on a machine with ${threads} cores (libtensorflow uses all of them)` : `--backend ${name} --threads ${threads} (or PARRY_THREADS=${threads})`;
      throw fail(`${o.source} ran on another backend/thread count (${b.name}, ${b.threads} threads) than ${first.source} (${name}, ${threads} threads): bit-exact merging needs the same; rerun it with ${how}`);
    }
  }
  const count = first.shard.count;
  const byIndex = new Map<number, Sharded>();
  for (const o of list) {
    const seen = byIndex.get(o.shard.index);
    if (seen) throw fail(`shard ${o.shard.index}/${count} is given twice (${seen.source} and ${o.source}); pass each shard once`);
    byIndex.set(o.shard.index, o);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw fail(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (got ${list.length} of ${count}); run them (parry eval --shard i/${count}) and pass every shard`);
  }
  const sorted = [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!);
  for (const o of sorted) {
    const { start, end, total, unit } = o.shard;
    const block = shardBlock({ index: o.shard.index, count }, total, unit);
    const n = end - start;
    if (block.start !== start || block.end !== end) throw fail(`${o.source}: shard ${o.shard.index}/${count} holds examples ${start}..${end}, but that shard is ${block.start}..${block.end}; re-run it with this Parry`);
    if (o.shard.attacks.length !== o.results.attacks.length) throw fail(`${o.source}: the shard section has values for ${o.shard.attacks.length} attacks, but the file has ${o.results.attacks.length}; re-run the shard`);
    for (const [k, a] of o.results.attacks.entries()) {
      const v = o.shard.attacks[k];
      const ok =
        a.n === n &&
        (a.modality === 'image'
          ? 'perEpsilon' in v && v.perEpsilon.length === a.perEpsilon.length && (a.successBits ?? []).length === a.perEpsilon.length && (a.successBits ?? []).every((b) => b.length === n)
          : 'records' in v && v.records.length === n && a.examples.length === n && a.examples.every((x, i) => x.index === start + i));
      if (!ok) throw fail(`${o.source}: attack ${a.attack} does not hold one record of each of its ${n} examples (${start}..${end - 1}); re-run the shard without limiting the kept examples`);
    }
  }
  return sorted;
}

function mergeImageAttack(shards: Sharded[], k: number, cleanCorrect: boolean[]): ImageAttackEntry {
  const entries = shards.map((s) => s.results.attacks[k] as ImageAttackEntry);
  const first = entries[0];
  const n = cleanCorrect.length;
  const nCorrect = cleanCorrect.filter(Boolean).length;
  const perEpsilon = first.perEpsilon.map((e0, j) => {
    const bits = entries.map((e) => e.successBits![j]).join('');
    let robust = 0;
    let fooled = 0;
    for (let i = 0; i < n; i++) {
      if (cleanCorrect[i] && bits[i] !== '1') robust++;
      if (cleanCorrect[i] && bits[i] === '1') fooled++;
    }
    const values = shards.map((s) => (s.shard.attacks[k] as ImageValues).perEpsilon[j]);
    const exact = { linf: values.flatMap((v) => v.linf), l2: values.flatMap((v) => v.l2) };
    if (exact.linf.length !== fooled) throw fail(`attack ${first.attack} at epsilon ${e0.epsilon}: the shards hold ${exact.linf.length} sizes for ${fooled} fooled examples; re-run the shards with this Parry`);
    const withSizes = entries.every((e) => e.perEpsilon[j].sizes);
    const withStages = entries.filter((e) => e.n > 0).every((e) => e.perEpsilon[j].stages);
    const stages = withStages && e0.stages
      ? e0.stages.map((st, q) => ({
          label: st.label,
          // robust accuracy after each stage is a count over the shard's examples: sum the counts
          robustAccuracy: entries.reduce((sum, e) => sum + (e.n ? Math.round(e.perEpsilon[j].stages![q].robustAccuracy * e.n) : 0), 0) / n,
        }))
      : undefined;
    return {
      epsilon: e0.epsilon,
      robustAccuracy: n ? robust / n : 0,
      attackSuccessRate: nCorrect ? fooled / nCorrect : 0,
      linf: stat(exact.linf),
      l2: stat(exact.l2),
      ...(withSizes ? { sizes: { linf: entries.flatMap((e) => e.perEpsilon[j].sizes!.linf), l2: entries.flatMap((e) => e.perEpsilon[j].sizes!.l2) } } : {}),
      ...(stages ? { stages } : {}),
    };
  });
  // the report's image grid: the first examples of the run (each shard kept the first ones of its block)
  const grid = shards[0].shard.imageExamples ?? 8;
  const examples = entries.flatMap((e, s) => (e.examples ?? []).map((x) => ({ ...x, index: x.index + shards[s].shard.start }))).slice(0, grid);
  const sum = (f: (e: ImageAttackEntry) => number) => entries.reduce((t, e) => t + f(e), 0);
  return {
    modality: 'image',
    attack: first.attack,
    norm: first.norm,
    options: first.options,
    cleanAccuracy: n ? nCorrect / n : 0,
    n,
    perEpsilon,
    wallTimeMs: sum((e) => e.wallTimeMs),
    gradientEvaluations: sum((e) => e.gradientEvaluations),
    forwardEvaluations: sum((e) => e.forwardEvaluations),
    successBits: first.perEpsilon.map((_, j) => entries.map((e) => e.successBits![j]).join('')),
    ...(first.examples ? { examples } : {}),
  };
}

function mergeTextAttack(shards: Sharded[], k: number, labelNames: readonly string[]): TextAttackEntry {
  const entries = shards.map((s) => s.results.attacks[k] as TextAttackEntry);
  const first = entries[0];
  if (entries.some((e) => e.perLabel || e.microF1Before !== undefined)) {
    throw fail(`attack ${first.attack} is on a multi-label model: merging multi-label text attacks is not supported yet; run it unsharded`);
  }
  const records = shards.flatMap((s, i) =>
    entries[i].examples.map((x, j) => {
      const v = (s.shard.attacks[k] as TextValues).records[j];
      return {
        index: x.index,
        status: x.status,
        ...(v.budget ? { reason: 'budget' as const } : {}),
        queries: x.queries ?? 0,
        gradientCalls: v.gradientCalls,
        words: v.words,
        ...(v.visibleWords !== undefined ? { visibleWords: v.visibleWords } : {}),
        modifiedWords: x.changed.length,
      } as TextAttackRecord;
    }),
  );
  const notes = first.notes.filter((note) => !TRUNCATION_NOTE.test(note));
  const sum = (f: (e: TextAttackEntry) => number) => entries.reduce((t, e) => t + f(e), 0);
  const wallSeconds = sum((e) => e.wallTimeMs) / 1000;
  const s = summarizeTextAttack({ name: first.attack, constraints: [], notes }, { labelNames: [...labelNames], outputKind: 'single-label' }, records, {
    wallSeconds,
    totalQueries: sum((e) => e.totalQueries),
    gradientCalls: sum((e) => e.gradientCalls),
  });
  const { truncated, ...fields } = textSummaryFields(s);
  return {
    ...first,
    ...fields,
    ...(first.truncated !== undefined ? { truncated } : {}),
    successBits: entries.map((e) => e.successBits).join(''),
    examples: entries.flatMap((e) => e.examples),
  };
}

/**
 * Merge the shard outputs of one sharded evaluation into the unsharded run's results (validated, no shard section).
 * Refuses, with one `InputError` line, outputs that are not shards, shards of different runs (model and its weights
 * hash, data and its hash, split, seed, attack configuration, shard count, clean metrics), shards computed on another
 * backend or thread count, a shard given twice, a missing shard, or a shard that does not hold one record of each of
 * its examples.
 */
export function mergeShardOutputs(outputs: readonly ShardOutput[]): Results {
  const shards = checkShards(outputs);
  const head = shards[0].results;
  const total = shards[0].shard.total;
  const cleanCorrect = [...(shards[0].shard.cleanBits ?? '')].map((c) => c === '1');
  if (head.model.modality === 'image' && cleanCorrect.length !== total) throw fail(`${shards[0].source}: the shard section has ${cleanCorrect.length} clean bits for ${total} examples; re-run the shard with this Parry`);
  const labelNames = head.model.modality === 'text' ? head.model.labelNames : [];
  const attacks = head.attacks.map((a, k) => (a.modality === 'image' ? mergeImageAttack(shards, k, cleanCorrect) : mergeTextAttack(shards, k, labelNames)));
  const { shard: _shard, ...rest } = head;
  void _shard;
  return validateResults({ ...rest, attacks }, 'merged results');
}

/** Read the shard results files and merge them (see `mergeShardOutputs`). */
export function mergeResults(files: readonly string[]): Results {
  return mergeShardOutputs(files.map((source) => ({ source, results: readResults(source) })));
}
