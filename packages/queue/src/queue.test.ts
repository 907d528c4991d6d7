// Issue 18: the queue backend's job splitting, refusals and the submit/collect cycle on a real redis-server.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isParryError } from '@parry/core';
import { shardBlock } from '@parry/pipelines';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdOf, planShardJobs, runIdOf } from './jobs.js';
import { checkReachable, parseRedisUrl, redisUrlFrom } from './redis.js';
import { collectEvaluation, submitEvaluation } from './submit.js';
import { freePort, hasRedisServer, type RedisServer, startRedisServer } from './testing.js';
import { runWorker } from './worker.js';

/** The built job processor (runWorker runs it in worker threads): build first, `pnpm --filter @parry/queue build`. */
const PROCESSOR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/processor.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-queue-'));
let redis: RedisServer | undefined;
beforeAll(async () => {
  redis = await startRedisServer('packages/queue/src/queue.test.ts');
});
afterAll(async () => {
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The one-line message of a refusal (sync or async). */
async function refusal(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(isParryError(e)).toBe(true);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected a refusal');
}

describe('planShardJobs', () => {
  const evaluation = { model: '/models/cnn', attacks: ['pgd'], epsilons: [0.3], n: 50, batchSize: 8, seed: 1 };

  it('splits one evaluation into N jobs, shard i/N each, with deterministic ids and results files', () => {
    const { run, jobs } = planShardJobs(evaluation, { shards: 3, resultsDir: '/shared/results' });
    expect(run).toMatch(/^run-[0-9a-f]{12}$/);
    expect(jobs.map((j) => j.data.shard)).toEqual([{ index: 0, count: 3 }, { index: 1, count: 3 }, { index: 2, count: 3 }]);
    expect(jobs.map((j) => j.id)).toEqual([0, 1, 2].map((i) => `${run}.shard-${i}-of-3`));
    expect(jobs.map((j) => j.data.file)).toEqual([0, 1, 2].map((i) => `/shared/results/${run}/shard-${i}-of-3.json`));
    for (const j of jobs) expect(j.data.evaluation).toEqual(evaluation);
    // the shards the jobs name cover every example once (the pipeline's blocks)
    const blocks = jobs.map((j) => shardBlock(j.data.shard, 50, 8));
    expect(blocks.map((b) => [b.start, b.end])).toEqual([[0, 16], [16, 32], [32, 50]]);
    // the same evaluation (keys in any order) names the same run; another evaluation or shard count does not
    const reordered = { seed: 1, batchSize: 8, n: 50, epsilons: [0.3], attacks: ['pgd'], model: '/models/cnn' };
    expect(planShardJobs(reordered, { shards: 3, resultsDir: '/elsewhere' }).run).toBe(run);
    expect(runIdOf({ ...evaluation, seed: 2 }, 3)).not.toBe(run);
    expect(runIdOf(evaluation, 4)).not.toBe(run);
    expect(planShardJobs(evaluation, { shards: 2, resultsDir: '/r', run: 'mnist-pgd' }).jobs.map((j) => j.id)).toEqual(['mnist-pgd.shard-0-of-2', 'mnist-pgd.shard-1-of-2']);
    expect(jobIdOf('r', { index: 4, count: 5 })).toBe('r.shard-4-of-5');
  });

  it('refuses a bad shard count or run name in one line', async () => {
    expect(await refusal(() => planShardJobs(evaluation, { shards: 0, resultsDir: '/r' }))).toBe('--shards must be an integer from 1 to 10000, got 0');
    expect(await refusal(() => planShardJobs(evaluation, { shards: 2.5, resultsDir: '/r' }))).toBe('--shards must be an integer from 1 to 10000, got 2.5');
    expect(await refusal(() => planShardJobs(evaluation, { shards: 2, resultsDir: '/r', run: 'a:b' }))).toMatch(/^--run "a:b" is not a run name; use letters, digits/);
  });
});

describe('Redis URL', () => {
  it('parses redis:// URLs and refuses others in one line naming the flag or variable', async () => {
    expect(parseRedisUrl('redis://127.0.0.1:6390/2').connection).toMatchObject({ host: '127.0.0.1', port: 6390, db: 2, maxRetriesPerRequest: null });
    expect(parseRedisUrl('redis://u:s%40cret@h').connection).toMatchObject({ host: 'h', port: 6379, username: 'u', password: 's@cret' });
    expect(parseRedisUrl('redis://u:secret@h:1').display).toBe('redis://u:***@h:1');
    expect(redisUrlFrom(undefined, { PARRY_REDIS_URL: 'redis://x:1' })).toEqual({ url: 'redis://x:1', source: 'PARRY_REDIS_URL' });
    expect(redisUrlFrom('redis://y:2', { PARRY_REDIS_URL: 'redis://x:1' })).toEqual({ url: 'redis://y:2', source: '--redis' });
    expect(await refusal(() => parseRedisUrl('http://127.0.0.1:6379'))).toBe(
      '--redis "http://127.0.0.1:6379" is not a redis:// or rediss:// URL; pass --redis redis://host:port[/db] (or set PARRY_REDIS_URL), e.g. --redis redis://127.0.0.1:6379',
    );
    expect(await refusal(() => parseRedisUrl('127.0.0.1:6379', 'PARRY_REDIS_URL'))).toMatch(/^PARRY_REDIS_URL "127.0.0.1:6379" is not a URL; pass --redis /);
    expect(await refusal(() => parseRedisUrl('redis://h:1/x'))).toMatch(/the path "\/x" is not a database number/);
  });

  it('an unreachable server is one line naming the URL', async () => {
    const port = await freePort(); // nobody listens there
    const m = await refusal(() => checkReachable(parseRedisUrl(`redis://127.0.0.1:${port}`)));
    expect(m).toBe(
      `cannot reach Redis at redis://127.0.0.1:${port} (--redis): ECONNREFUSED; start it (e.g. redis-server --port ${port}) or pass --redis redis://host:port[/db] (or set PARRY_REDIS_URL), e.g. --redis redis://127.0.0.1:6379`,
    );
  });
});

// without redis-server: a failure under CI (startRedisServer throws), a printed skip elsewhere
describe.skipIf(!process.env.CI && !hasRedisServer())('submit and collect on a real redis-server', () => {
  it('a resubmission adds no job twice; another evaluation under the same run name is refused', async () => {
    const target = parseRedisUrl(redis!.url);
    const evaluation = { model: path.join(tmp, 'no-such-model'), attacks: ['fgsm'], n: 16, batchSize: 8 };
    const first = await submitEvaluation({ redis: target, queue: 'dedupe', evaluation, shards: 3, resultsDir: tmp });
    expect(first).toMatchObject({ added: 3, existing: 0 });
    const again = await submitEvaluation({ redis: target, queue: 'dedupe', evaluation, shards: 3, resultsDir: tmp });
    expect(again).toMatchObject({ run: first.run, added: 0, existing: 3 });
    const queue = new Queue('dedupe', { connection: target.connection });
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 3 });
    expect((await queue.getJobs(['waiting'])).map((j) => j.id).sort()).toEqual(first.jobs.map((j) => j.id).sort());
    await queue.close();
    expect(await refusal(() => submitEvaluation({ redis: target, queue: 'dedupe', evaluation: { ...evaluation, n: 8 }, shards: 3, resultsDir: tmp, run: first.run }))).toBe(
      `run ${first.run} is already on queue dedupe with another evaluation or results folder (job ${first.run}.shard-0-of-3); pass --run <new name> for this one`,
    );
  });

  it('a shard that fails (a model that does not exist: no retry) makes collection refuse in one line', async () => {
    const target = parseRedisUrl(redis!.url);
    const evaluation = { model: path.join(tmp, 'missing-model'), attacks: ['fgsm'], n: 16, batchSize: 8 };
    const submitted = await submitEvaluation({ redis: target, queue: 'failing', evaluation, shards: 2, resultsDir: tmp, backoffMs: 10 });
    const lines: string[] = [];
    const worker = runWorker({ redis: target, queue: 'failing', log: (l) => lines.push(l), processor: PROCESSOR });
    try {
      const m = await refusal(() => collectEvaluation({ redis: target, queue: 'failing', jobs: submitted.jobs, timeoutMs: 60_000, pollMs: 100 }));
      expect(m).toMatch(new RegExp(`^shard [01]/2 \\(job ${submitted.run}\\.shard-[01]-of-2\\) failed after 1 try: .*missing-model.*; fix the cause and run the same parry submit command with --retry-failed$`));
    } finally {
      await worker.close();
    }
    expect(lines.filter((l) => /: failed \(try 1 of 3\): .*missing-model/.test(l))).toHaveLength(2);
    // --retry-failed puts them back on the queue
    const retried = await submitEvaluation({ redis: target, queue: 'failing', evaluation, shards: 2, resultsDir: tmp, retryFailed: true });
    expect(retried).toMatchObject({ added: 0, existing: 2, retried: 2 });
  });

  it('collection refuses a job missing from the queue, and gives up after --timeout with the counts', async () => {
    const target = parseRedisUrl(redis!.url);
    const { jobs, run } = planShardJobs({ model: 'm' }, { shards: 2, resultsDir: tmp });
    expect(await refusal(() => collectEvaluation({ redis: target, queue: 'empty', jobs }))).toBe(
      `shard 0/2 (job ${run}.shard-0-of-2) is not on queue empty; run the same parry submit command again to add it`,
    );
    const submitted = await submitEvaluation({ redis: target, queue: 'idle', evaluation: { model: 'm' }, shards: 2, resultsDir: tmp });
    expect(await refusal(() => collectEvaluation({ redis: target, queue: 'idle', jobs: submitted.jobs, timeoutMs: 300, pollMs: 100 }))).toBe(
      'gave up after 0 s: 0 of 2 shards finished (0 running, 2 waiting); start workers (parry worker) and run the same command again to keep waiting',
    );
  });
});
