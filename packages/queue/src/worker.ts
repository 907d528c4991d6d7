/**
 * The worker side: run one shard job (`evaluateShard`) and a BullMQ worker that takes shard jobs off the queue
 * (`runWorker`) with concurrency, retries and stalled-job detection.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isParryError } from '@parry/core';
import { evaluateImageModel, evaluateTextModel, isTextModel, type Progress, type TextSplitName } from '@parry/pipelines';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { DEFAULT_QUEUE, type EvaluationSpec, type ShardJobData, type ShardJobResult } from './jobs.js';
import type { RedisTarget } from './redis.js';

/** Where a shard is: the phase (attack) and how far it got. */
export interface ShardProgress {
  phase: string;
  done: number;
  total: number;
  /** `host:pid` of the worker running it. */
  worker: string;
}

/** The `host:pid` of this process, as jobs record it. */
export const workerName = () => `${os.hostname()}:${process.pid}`;

/** A Hugging Face folder, or a Hub id (`org/name`) that is not a local path: what `parry eval` treats as a text model. */
export const isTextTarget = (model: string) => isTextModel(model) || (!fs.existsSync(model) && /^[\w.-]+\/[\w.-]+$/.test(model) && !model.startsWith('runs/'));

export interface EvaluateShardOptions {
  log?: (line: string) => void;
  /** Called as the shard advances (per attack batch for images, per example for text). */
  onProgress?: (p: Omit<ShardProgress, 'worker'>) => void;
}

/**
 * Evaluate one shard and write its results file (atomically, by the pipeline). Text shards keep the per-example
 * journal next to the file (`--resume`), so a shard retried after its worker died continues where it stopped; image
 * shards restart (the pipeline does not resume an image shard yet).
 */
export async function evaluateShard(data: ShardJobData, o: EvaluateShardOptions = {}): Promise<Omit<ShardJobResult, 'worker'>> {
  const started = Date.now();
  const e: EvaluationSpec = data.evaluation;
  fs.mkdirSync(path.dirname(data.file), { recursive: true });
  const progress = (phase: string, total: number): Progress => {
    o.onProgress?.({ phase, done: 0, total });
    return { update: (done) => o.onProgress?.({ phase, done, total }), stop: () => o.onProgress?.({ phase, done: total, total }) };
  };
  const common = {
    model: e.model,
    attacks: e.attacks,
    optionPairs: e.optionPairs,
    seed: e.seed ?? 0,
    batchSize: e.batchSize,
    data: e.data,
    runName: e.runName,
    backend: e.backend,
    plugins: { modules: e.plugins ?? [] },
    shard: data.shard,
    out: data.file,
    command: data.command,
    log: o.log,
    progress,
  };
  if (isTextTarget(e.model)) {
    await evaluateTextModel({
      ...common,
      limit: e.n,
      split: (e.split ?? (e.test && !e.dev ? 'test' : 'dev')) as TextSplitName,
      format: e.format as never,
      dev: e.dev,
      test: e.test,
      textColumn: e.textColumn,
      pairColumn: e.pairColumn,
      labelColumn: e.labelColumn,
      labelNames: e.labelNames,
      multiLabel: e.multiLabel,
      goal: e.goal,
      queryBudget: e.queryBudget,
      wordVectors: e.wordVectors,
      truncation: e.truncation,
      runtime: e.runtime,
      offline: e.offline,
      resume: true,
    });
  } else {
    await evaluateImageModel({ ...common, n: e.n, epsilons: e.epsilons ?? [0.1, 0.2, 0.3] });
  }
  return { file: data.file, shard: data.shard, seconds: (Date.now() - started) / 1000 };
}

export interface WorkerOptions {
  redis: RedisTarget;
  /** Queue name (default `parry-eval`). */
  queue?: string;
  /** Jobs run at once in this process (default 1; for CPU parallelism start one worker per core instead). */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (ms, default BullMQ's 30000). A worker renews it while it runs; once it
   * dies the lock expires and the next stalled check puts the job back on the queue.
   */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (ms, default BullMQ's 30000). */
  stalledInterval?: number;
  /** Times a job may stall (its worker died) before it fails (default 1, BullMQ's). */
  maxStalledCount?: number;
  log?: (line: string) => void;
  /** The shard evaluation (default `evaluateShard`). */
  evaluate?: (data: ShardJobData, o: EvaluateShardOptions) => Promise<Omit<ShardJobResult, 'worker'>>;
  /** Minimum ms between two progress updates of a job (default 500). */
  progressEveryMs?: number;
}

/**
 * Start a BullMQ worker on the shard queue. Each job evaluates one shard (see `evaluateShard`), reports progress with
 * `job.updateProgress` and returns where it wrote its results. A usage error (bad attack name, missing model) fails
 * the job at once (retrying would not help); any other error is retried with the job's backoff. Close it with
 * `worker.close()` (finishes the running jobs first).
 */
export function runWorker(o: WorkerOptions): Worker<ShardJobData, ShardJobResult> {
  const me = workerName();
  const log = o.log ?? (() => {});
  const evaluate = o.evaluate ?? evaluateShard;
  const every = o.progressEveryMs ?? 500;
  const processor = async (job: Job<ShardJobData, ShardJobResult>): Promise<ShardJobResult> => {
    const { index, count } = job.data.shard;
    const tag = `shard ${index}/${count} of ${job.data.run}`;
    log(`${tag}: started (attempt ${job.attemptsStarted}${job.stalledCounter ? `, after ${job.stalledCounter} stalled run${job.stalledCounter === 1 ? '' : 's'}` : ''})`);
    let last = 0;
    let pending: Promise<void> = Promise.resolve();
    const onProgress = (p: Omit<ShardProgress, 'worker'>) => {
      const now = Date.now();
      if (now - last < every && p.done !== 0 && p.done !== p.total) return;
      last = now;
      pending = pending.then(() => job.updateProgress({ ...p, worker: me }).catch(() => {})); // a lost update is harmless
    };
    try {
      const r = await evaluate(job.data, { log: (line) => log(`${tag}: ${line}`), onProgress });
      await pending;
      log(`${tag}: done in ${r.seconds.toFixed(1)} s, results in ${r.file}`);
      return { ...r, worker: me };
    } catch (e) {
      await pending;
      const message = e instanceof Error ? e.message : String(e);
      log(`${tag}: failed: ${message.split('\n')[0]}`);
      if (isParryError(e) && e.exitCode === 2) throw new UnrecoverableError(message); // bad input: no retry
      throw e;
    }
  };
  const worker = new Worker<ShardJobData, ShardJobResult>(o.queue ?? DEFAULT_QUEUE, processor, {
    connection: o.redis.connection,
    concurrency: o.concurrency ?? 1,
    ...(o.lockDuration !== undefined ? { lockDuration: o.lockDuration } : {}),
    ...(o.stalledInterval !== undefined ? { stalledInterval: o.stalledInterval } : {}),
    ...(o.maxStalledCount !== undefined ? { maxStalledCount: o.maxStalledCount } : {}),
  });
  worker.on('error', (e) => log(`worker error: ${e.message.split('\n')[0]}`));
  return worker;
}
