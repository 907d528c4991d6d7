import { DEFAULT_QUEUE, openQueue, parseRedisUrl, redisUrlFrom, runWorker } from '@parry/queue';
import type { Command } from 'commander';
import { log } from '../context.js';
import { wrap } from '../options.js';
import { parseInteger } from '../parse.js';

export interface WorkerCommandOptions {
  redis?: string;
  queue: string;
  concurrency: number;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalled?: number;
  quiet?: boolean;
}

/**
 * `parry worker`: take shard jobs of `parry submit` off the queue until stopped (SIGINT / SIGTERM: finish the running
 * shards, then exit; a second signal exits at once and the shards go back to the queue once their locks expire).
 */
export async function workerCommand(o: WorkerCommandOptions): Promise<void> {
  const { url, source } = redisUrlFrom(o.redis);
  const redis = parseRedisUrl(url, source);
  await (await openQueue(redis, o.queue, source)).close(); // the server answers and BullMQ's client loads: else one line
  const say = o.quiet ? () => {} : log;
  const worker = runWorker({
    redis,
    queue: o.queue,
    concurrency: o.concurrency,
    lockDuration: o.lockDuration,
    stalledInterval: o.stalledInterval,
    maxStalledCount: o.maxStalled,
    log: say,
  });
  try {
    await worker.waitUntilReady();
  } catch (e) {
    await worker.close(true).catch(() => {});
    throw e;
  }
  say(`worker ${worker.id}: waiting for shard jobs on queue ${o.queue} (${redis.display}), concurrency ${o.concurrency}`);
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(130);
    say(`${signal}: finishing the running shards, then exiting (again to exit now)`);
    void worker.close();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await new Promise<void>((resolve) => worker.once('closed', () => resolve()));
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}

/** The `parry worker` subcommand and its flags. */
export function registerWorkerCommand(program: Command, _argv: string[]): void {
  program
    .command('worker')
    .description('run the shard jobs `parry submit` put on a BullMQ queue over Redis (start one per core or machine; the shard results go to the submit\'s --results-dir, which every worker must see)')
    .option('--redis <url>', 'Redis server: redis://[user:password@]host[:port][/db] (default: env PARRY_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--queue <name>', 'queue name (the one given to parry submit)', DEFAULT_QUEUE)
    .option('--concurrency <n>', 'shards run at once in this process (they share one JavaScript thread: for CPU parallelism start one worker per core)', wrap('--concurrency', (f, v) => parseInteger(f, v)), 1)
    .option('--lock-duration <ms>', 'how long a shard stays claimed without a renewal from this worker; after its worker died it goes back to the queue within about this long (BullMQ default 30000)', wrap('--lock-duration', (f, v) => parseInteger(f, v)))
    .option('--stalled-interval <ms>', 'how often this worker looks for shards whose worker died (BullMQ default 30000)', wrap('--stalled-interval', (f, v) => parseInteger(f, v)))
    .option('--max-stalled <n>', 'times a shard may lose its worker before it fails (BullMQ default 1)', wrap('--max-stalled', (f, v) => parseInteger(f, v, 0)))
    .option('-q, --quiet', 'no log lines')
    .action(async (o: WorkerCommandOptions) => {
      await workerCommand(o);
    });
}
