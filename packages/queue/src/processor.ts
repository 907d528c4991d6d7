/**
 * The sandboxed BullMQ processor of a shard job: `runWorker` runs it in a worker thread, so the evaluation's long
 * synchronous stretches (loading resources, tensor kernels) never hold up the worker's main thread, which renews the
 * job's lock. A process killed mid-shard takes the thread with it; the lock then expires and the job goes back to the
 * queue. Log lines go to stderr unless `PARRY_QUEUE_QUIET=1`.
 */
import { isParryError } from '@parry/core';
import { type SandboxedJob, UnrecoverableError } from 'bullmq';
import { evaluateShard, type ShardProgress, workerName } from './evaluate.js';
import type { ShardJobData, ShardJobResult } from './jobs.js';

/** Minimum ms between two progress updates of a job (the first and last are always sent). */
const PROGRESS_EVERY_MS = 500;

export default async function processShard(job: SandboxedJob<ShardJobData, ShardJobResult>): Promise<ShardJobResult> {
  const me = workerName();
  const { index, count } = job.data.shard;
  const tag = `shard ${index}/${count} of ${job.data.run}`;
  const log = process.env.PARRY_QUEUE_QUIET === '1' ? () => {} : (line: string) => process.stderr.write(`${tag}: ${line}\n`);
  let last = 0;
  let pending: Promise<void> = Promise.resolve();
  const onProgress = (p: Omit<ShardProgress, 'worker'>) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS && p.done !== 0 && p.done !== p.total) return;
    last = now;
    pending = pending.then(() => job.updateProgress({ ...p, worker: me }).catch(() => {})); // a lost update is harmless
  };
  try {
    const r = await evaluateShard(job.data, { log, onProgress });
    await pending;
    return { ...r, worker: me };
  } catch (e) {
    await pending;
    // bad input (an unknown attack, a missing model): retrying cannot help, fail the job at once
    if (isParryError(e) && e.exitCode === 2) throw new UnrecoverableError(e.message);
    throw e;
  }
}
