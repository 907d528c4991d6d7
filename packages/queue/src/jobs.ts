/**
 * One evaluation split into shard jobs: what a job carries, its deterministic id, and where its results go.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '@parry/core';
import { checkShard, type ShardSpec } from '@parry/pipelines';

/** The queue Parry uses unless told otherwise (`--queue`). */
export const DEFAULT_QUEUE = 'parry-eval';

/**
 * The evaluation a queue runs, as plain JSON: the options of `parry eval` that make sense on another machine. Paths
 * (model, data, dev/test files, word vectors, plugins) must name the same files on every worker: a shared folder, or
 * the same path on each machine.
 */
export interface EvaluationSpec {
  /** Model folder (image: written by `parry train`; text: a Parry / Hugging Face folder) or a Hub id (text). */
  model: string;
  /** Attack names (image default fgsm,pgd; text: none, clean metrics only). */
  attacks?: string[];
  /** `<attack>.<key>=<value>` option pairs (`--opt`). */
  optionPairs?: string[];
  seed?: number;
  batchSize?: number;
  /** Examples to evaluate (image `-n`, default 1000; text `--limit`, default all, 100 with attacks). */
  n?: number;
  /** Image: MNIST IDX folder; text: the data set. */
  data?: string;
  runName?: string;
  backend?: string;
  /** Plugin modules (`--plugin`), loaded in each worker's working directory. */
  plugins?: string[];
  /** Image: epsilons (default 0.1, 0.2, 0.3). */
  epsilons?: number[];
  /** Text options, as `parry eval` takes them. */
  split?: 'train' | 'dev' | 'test';
  format?: string;
  dev?: string;
  test?: string;
  textColumn?: string;
  pairColumn?: string;
  labelColumn?: string;
  /** Comma-separated label names in id order. */
  labelNames?: string;
  multiLabel?: boolean;
  goal?: string;
  queryBudget?: number;
  wordVectors?: string;
  /** `--sentence-encoder`: the sentence encoder folder of the sentence-similarity constraint. */
  sentenceEncoder?: string;
  truncation?: 'head' | 'tail' | 'head+tail';
  runtime?: 'tfjs' | 'onnx';
  offline?: boolean;
}

/** What one shard job carries. */
export interface ShardJobData {
  /** The run the shard belongs to (`--run`, default derived from the evaluation and shard count). */
  run: string;
  evaluation: EvaluationSpec;
  shard: ShardSpec;
  /** The shard's results file (absolute; on storage every worker and the collector share). */
  file: string;
  /** The command line that submitted it, recorded in the shard's results (not part of the run's identity). */
  command?: string[];
}

/** What a finished shard job returns (BullMQ keeps it as the job's return value). */
export interface ShardJobResult {
  /** Where the shard's results were written. */
  file: string;
  shard: ShardSpec;
  /** `host:pid` of the worker that finished it. */
  worker: string;
  seconds: number;
}

/** One job to add: its deterministic id and data. */
export interface PlannedJob {
  id: string;
  name: string;
  data: ShardJobData;
}

/** A stable JSON text of a value: object keys sorted, undefined dropped. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The default run id: `run-` and 12 hex digits of the evaluation and the shard count. */
export function runIdOf(evaluation: EvaluationSpec, count: number): string {
  return `run-${createHash('sha256').update(stableJson({ evaluation, count })).digest('hex').slice(0, 12)}`;
}

/** A run name (`--run`) as job ids and folder names use it. */
export function checkRunId(run: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(run)) {
    throw new UsageError(`--run ${JSON.stringify(run)} is not a run name; use letters, digits, '.', '_' and '-' (at most 100, starting with a letter or digit), e.g. --run mnist-pgd`);
  }
  return run;
}

/** The job id of shard `index` of `count` of `run`: the same for the same run, so a resubmission adds nothing twice. */
export const jobIdOf = (run: string, shard: ShardSpec) => `${run}.shard-${shard.index}-of-${shard.count}`;

/** The results file of a shard: `<resultsDir>/<run>/shard-<i>-of-<N>.json`. */
export const shardFileOf = (resultsDir: string, run: string, shard: ShardSpec) => path.join(path.resolve(resultsDir), run, `shard-${shard.index}-of-${shard.count}.json`);

/** Paths that exist here, made absolute (a Hub id or a path only the workers see stays as given). */
function absoluteIfHere(p: string | undefined): string | undefined {
  return p !== undefined && fs.existsSync(p) ? path.resolve(p) : p;
}

/** The evaluation with every path that exists here made absolute, so workers in other folders find the same files. */
export function resolvePaths(e: EvaluationSpec): EvaluationSpec {
  return {
    ...e,
    model: absoluteIfHere(e.model)!,
    data: absoluteIfHere(e.data),
    dev: absoluteIfHere(e.dev),
    test: absoluteIfHere(e.test),
    wordVectors: absoluteIfHere(e.wordVectors),
    ...(e.sentenceEncoder !== undefined ? { sentenceEncoder: absoluteIfHere(e.sentenceEncoder) } : {}),
    plugins: e.plugins?.map((p) => (p.startsWith('.') || path.isAbsolute(p) ? path.resolve(p) : p)),
  };
}

export interface PlanOptions {
  /** Number of shards (jobs). */
  shards: number;
  /** Folder for the shard results, shared by every worker and the collector. */
  resultsDir: string;
  /** Run id (default `runIdOf(evaluation, shards)`). */
  run?: string;
}

/** Split one evaluation into `shards` jobs with deterministic ids (see `jobIdOf`) and results files. */
export function planShardJobs(evaluation: EvaluationSpec, o: PlanOptions & { command?: string[] }): { run: string; jobs: PlannedJob[] } {
  if (!(Number.isSafeInteger(o.shards) && o.shards >= 1 && o.shards <= 10_000)) {
    throw new UsageError(`--shards must be an integer from 1 to 10000, got ${o.shards}`);
  }
  if (!evaluation.model) throw new UsageError('the evaluation names no model; pass --model <folder or Hub id>');
  const run = checkRunId(o.run ?? runIdOf(evaluation, o.shards));
  const jobs = Array.from({ length: o.shards }, (_, index) => {
    const shard = checkShard({ index, count: o.shards });
    return { id: jobIdOf(run, shard), name: `shard ${index}/${o.shards}`, data: { run, evaluation, shard, file: shardFileOf(o.resultsDir, run, shard), ...(o.command ? { command: o.command } : {}) } };
  });
  return { run, jobs };
}

/** Whether two job payloads are the same shard of the same run (a resubmission), compared as stable JSON. */
export const sameJob = (a: ShardJobData, b: ShardJobData) => stableJson({ ...a, command: undefined }) === stableJson({ ...b, command: undefined });
