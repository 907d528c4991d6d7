/**
 * The submitting side: put the shard jobs of one evaluation on the queue (`submitEvaluation`), wait for them and merge
 * their results (`collectEvaluation`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ParryError, UsageError } from '@parry/core';
import { mergeResults } from '@parry/pipelines';
import { type Job, Queue } from 'bullmq';
import { DEFAULT_QUEUE, type EvaluationSpec, type PlannedJob, planShardJobs, resolvePaths, sameJob, type ShardJobData, type ShardJobResult } from './jobs.js';
import { checkReachable, type RedisTarget, redisClientError } from './redis.js';
import type { ShardProgress } from './evaluate.js';

/** A BullMQ queue on a checked Redis: reachable (one line otherwise) and its client loaded. */
export async function openQueue(redis: RedisTarget, name = DEFAULT_QUEUE, source = '--redis'): Promise<Queue<ShardJobData, ShardJobResult>> {
  await checkReachable(redis, source);
  let queue: Queue<ShardJobData, ShardJobResult>;
  try {
    queue = new Queue<ShardJobData, ShardJobResult>(name, { connection: redis.connection });
  } catch (e) {
    throw redisClientError(e, redis);
  }
  let failure: unknown;
  queue.on('error', (e) => {
    failure ??= e;
  });
  try {
    await queue.waitUntilReady();
    if (failure) throw failure;
  } catch (e) {
    await queue.close().catch(() => {});
    throw redisClientError(e, redis);
  }
  return queue;
}

export interface SubmitOptions {
  redis: RedisTarget;
  evaluation: EvaluationSpec;
  /** Number of shards (jobs). */
  shards: number;
  /** Folder for the shard results; every worker and the collector must see it at this path (a shared folder). */
  resultsDir: string;
  /** Queue name (default `parry-eval`). */
  queue?: string;
  /** Run id (default: derived from the evaluation and shard count, so the same command names the same run). */
  run?: string;
  /** Tries per shard before it fails (default 3). */
  attempts?: number;
  /** First retry delay (ms, default 2000), doubled on each further retry. */
  backoffMs?: number;
  /** Put failed shards of this run back on the queue. */
  retryFailed?: boolean;
  /** The command line recorded in the shards' results. */
  command?: string[];
  /** Source of the Redis URL, for messages (default `--redis`). */
  source?: string;
}

export interface SubmitOutcome {
  run: string;
  jobs: PlannedJob[];
  /** Jobs added now; the others were on the queue already (a resubmission adds nothing twice). */
  added: number;
  existing: number;
  /** Failed jobs put back on the queue (`retryFailed`). */
  retried: number;
}

/**
 * Split the evaluation into `shards` jobs (shard i/N of `parry eval --shard`) and add those not on the queue yet. Job
 * ids are deterministic (`<run>.shard-<i>-of-<N>`): submitting the same evaluation again adds nothing. A run id already
 * on the queue with another evaluation is refused in one line.
 */
export async function submitEvaluation(o: SubmitOptions): Promise<SubmitOutcome> {
  const attempts = o.attempts ?? 3;
  const backoffMs = o.backoffMs ?? 2000;
  if (!(Number.isSafeInteger(attempts) && attempts >= 1)) throw new UsageError(`--attempts must be an integer >= 1, got ${attempts}`);
  if (!(Number.isFinite(backoffMs) && backoffMs >= 0)) throw new UsageError(`--backoff must be a number of ms >= 0, got ${backoffMs}`);
  const evaluation = resolvePaths(o.evaluation);
  const { run, jobs } = planShardJobs(evaluation, { shards: o.shards, resultsDir: o.resultsDir, run: o.run, command: o.command });
  const queue = await openQueue(o.redis, o.queue, o.source);
  try {
    fs.mkdirSync(path.dirname(jobs[0].data.file), { recursive: true }); // a folder that cannot be made: one line, before any job
    let added = 0;
    let existing = 0;
    let retried = 0;
    for (const job of jobs) {
      const have = await queue.getJob(job.id);
      if (have) {
        if (!sameJob(have.data, job.data)) {
          throw new UsageError(`run ${run} is already on queue ${queue.name} with another evaluation or results folder (job ${job.id}); pass --run <new name> for this one`);
        }
        existing++;
        if (o.retryFailed && (await have.getState()) === 'failed') {
          await have.retry('failed');
          retried++;
        }
        continue;
      }
      await queue.add(job.name, job.data, { jobId: job.id, attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: false, removeOnFail: false });
      added++;
    }
    return { run, jobs, added, existing, retried };
  } finally {
    await queue.close();
  }
}

/** Where the shards of a run stand. */
export interface CollectStatus {
  completed: number;
  failed: number;
  active: number;
  waiting: number;
  total: number;
  /** Progress reported by the running shards. */
  running: Array<{ shard: number; progress: ShardProgress }>;
}

export interface CollectOptions {
  redis: RedisTarget;
  jobs: PlannedJob[];
  queue?: string;
  /** Give up after this many ms (default: wait as long as it takes). */
  timeoutMs?: number;
  /** How often to look (ms, default 500). */
  pollMs?: number;
  /** Called whenever the status changes. */
  onStatus?: (s: CollectStatus) => void;
  source?: string;
}

const isShardProgress = (p: unknown): p is ShardProgress => !!p && typeof p === 'object' && typeof (p as ShardProgress).done === 'number';

/**
 * Wait until every shard job finished, then merge their results files with `mergeResults` into the results of the
 * unsharded run (validated; write it with `writeResults` of @parry/metrics). A failed shard (its tries used up) or a
 * job missing from the queue is refused in one line; so is a shard whose results file cannot be read here.
 */
export async function collectEvaluation(o: CollectOptions): Promise<{ results: ReturnType<typeof mergeResults>; shards: ShardJobResult[] }> {
  const queue = await openQueue(o.redis, o.queue, o.source);
  const started = Date.now();
  const count = o.jobs.length;
  let lastKey = '';
  try {
    for (;;) {
      const status: CollectStatus = { completed: 0, failed: 0, active: 0, waiting: 0, total: count, running: [] };
      const done: ShardJobResult[] = [];
      for (const planned of o.jobs) {
        let job: Job<ShardJobData, ShardJobResult> | undefined = await queue.getJob(planned.id);
        const { index } = planned.data.shard;
        const missing = () => new UsageError(`shard ${index}/${count} (job ${planned.id}) is not on queue ${queue.name}; run the same parry submit command again to add it`);
        if (!job) throw missing();
        const state = await job.getState();
        // read the job again once it has finished: the copy read before may predate its return value or failure reason
        if (state === 'completed' || state === 'failed') job = await queue.getJob(planned.id);
        if (!job) throw missing();
        if (state === 'completed') {
          status.completed++;
          done.push(job.returnvalue);
        } else if (state === 'failed') {
          const reason = (job.failedReason ?? 'no reason recorded').split('\n')[0];
          throw new ParryError(`shard ${index}/${count} (job ${planned.id}) failed after ${job.attemptsMade} ${job.attemptsMade === 1 ? 'try' : 'tries'}: ${reason}; fix the cause and run the same parry submit command with --retry-failed`, 1);
        } else if (state === 'active') {
          status.active++;
          if (isShardProgress(job.progress)) status.running.push({ shard: index, progress: job.progress });
        } else status.waiting++;
      }
      const key = JSON.stringify([status.completed, status.active, status.waiting, status.running.map((r) => [r.shard, r.progress.phase, r.progress.done, r.progress.worker])]);
      if (key !== lastKey) o.onStatus?.(status);
      lastKey = key;
      if (status.completed === count) {
        for (const r of done) {
          if (!fs.existsSync(r.file)) {
            throw new UsageError(`shard ${r.shard.index}/${count} was written by ${r.worker} to ${r.file}, which is not readable here; give --results-dir a folder every worker and this machine share`);
          }
        }
        const ordered = [...done].sort((a, b) => a.shard.index - b.shard.index);
        return { results: mergeResults(ordered.map((r) => r.file)), shards: ordered };
      }
      if (o.timeoutMs !== undefined && Date.now() - started > o.timeoutMs) {
        throw new ParryError(`gave up after ${Math.round(o.timeoutMs / 1000)} s: ${status.completed} of ${count} shards finished (${status.active} running, ${status.waiting} waiting); start workers (parry worker) and run the same command again to keep waiting`, 1);
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    await queue.close();
  }
}
