/**
 * The worker side: a BullMQ worker that takes shard jobs off the queue with concurrency, retries and stalled-job
 * detection, and runs each in a worker thread (see processor.ts).
 */
import * as fs from 'node:fs';
import { Worker } from 'bullmq';
import { workerName } from './evaluate.js';
import { DEFAULT_QUEUE, type ShardJobData, type ShardJobResult } from './jobs.js';
import { type RedisTarget, redisClientError } from './redis.js';

export interface WorkerOptions {
  redis: RedisTarget;
  /** Queue name (default `parry-eval`). */
  queue?: string;
  /** Shards run at once, each in its own worker thread (default 1). */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (ms, default BullMQ's 30000). This process renews it while the job
   * runs; once the process dies the lock expires and the next stalled check puts the job back on the queue.
   */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (ms, default BullMQ's 30000). */
  stalledInterval?: number;
  /** Times a job may stall (lose its worker) before it fails (default 1, BullMQ's). */
  maxStalledCount?: number;
  /** Log lines (jobs started, finished, failed, and the evaluation's own lines on stderr); none when absent. */
  log?: (line: string) => void;
  /** The sandboxed processor module (default: this package's built processor.js). */
  processor?: string | URL;
}

/** The built processor next to this module (dist/processor.js). */
const DEFAULT_PROCESSOR = new URL('./processor.js', import.meta.url);

/**
 * Start a BullMQ worker on the shard queue. Each job evaluates one shard in a worker thread (`evaluateShard`),
 * reports progress with `job.updateProgress` and returns where it wrote its results. A usage error (bad attack name,
 * missing model) fails the job at once (retrying would not help); any other error is retried with the job's backoff.
 * `worker.close()` finishes the running jobs first.
 */
export function runWorker(o: WorkerOptions): Worker<ShardJobData, ShardJobResult> {
  const log = o.log ?? (() => {});
  const processor = o.processor ?? DEFAULT_PROCESSOR;
  if (!fs.existsSync(processor)) throw new Error(`the queue's job processor ${String(processor)} is missing; build @parry/queue (pnpm --filter @parry/queue build)`);
  let worker: Worker<ShardJobData, ShardJobResult>;
  try {
    worker = new Worker<ShardJobData, ShardJobResult>(o.queue ?? DEFAULT_QUEUE, processor, {
      connection: o.redis.connection,
      concurrency: o.concurrency ?? 1,
      useWorkerThreads: true,
      workerThreadsOptions: { env: { ...process.env, PARRY_QUEUE_QUIET: o.log ? '0' : '1' } },
      ...(o.lockDuration !== undefined ? { lockDuration: o.lockDuration } : {}),
      ...(o.stalledInterval !== undefined ? { stalledInterval: o.stalledInterval } : {}),
      ...(o.maxStalledCount !== undefined ? { maxStalledCount: o.maxStalledCount } : {}),
    });
  } catch (e) {
    throw redisClientError(e, o.redis);
  }
  const tag = (job: { data: ShardJobData }) => `shard ${job.data.shard.index}/${job.data.shard.count} of ${job.data.run}`;
  worker.on('active', (job) => {
    log(`${tag(job)}: started on ${workerName()} (attempt ${job.attemptsStarted}${job.stalledCounter ? `, after ${job.stalledCounter} stalled run${job.stalledCounter === 1 ? '' : 's'}` : ''})`);
  });
  worker.on('completed', (job, r) => log(`${tag(job)}: done in ${r.seconds.toFixed(1)} s, results in ${r.file}`));
  worker.on('failed', (job, e) => {
    if (job) log(`${tag(job)}: failed (try ${job.attemptsMade} of ${job.opts.attempts ?? 1}): ${e.message.split('\n')[0]}`);
  });
  worker.on('error', (e) => log(`worker error: ${e.message.split('\n')[0]}`));
  return worker;
}
