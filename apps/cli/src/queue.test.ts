// Issue 18: `parry submit` / `parry worker` on BullMQ over a real redis-server (started here, never mocked): three
// worker processes, one killed with SIGKILL mid-shard; the shard goes back to the queue, another worker resumes it from
// its journal, and the merged results equal the single-process run.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@parry/core';
import { readResults, type Results } from '@parry/metrics';
import { trainTextModel } from '@parry/pipelines';
import { hasRedisServer, type RedisServer, startRedisServer } from '@parry/queue/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, parryInProcess } from './test-support.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-queue-cli-'));
const modelDir = path.join(tmp, 'bert');
let redis: RedisServer | undefined;
const children: ChildProcess[] = [];

// real English words so that WordNet offers PWWS synonyms; "good"/"great"/"fine" carry the label
const FILLER = ['the', 'movie', 'film', 'plot', 'was', 'and', 'acting', 'story', 'cast', 'music', 'scenes', 'ending'];
const POSITIVE = ['good', 'great', 'fine'];
function csv(n: number, seed: number): string {
  let s = seed;
  const rand = (k: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % k;
  };
  const lines = Array.from({ length: n }, () => {
    const words = Array.from({ length: 5 + rand(4) }, () => FILLER[rand(FILLER.length)]);
    const pos = rand(2);
    if (pos) for (let k = 0; k < 2; k++) words[rand(words.length)] = POSITIVE[rand(POSITIVE.length)];
    return `"${words.join(' ')}",${pos}`;
  });
  return `text,label\n${lines.join('\n')}\n`;
}

beforeAll(async () => {
  redis = await startRedisServer('apps/cli/src/queue.test.ts');
  if (!redis) return;
  await initBackend();
  const train = path.join(tmp, 'train.csv');
  const dev = path.join(tmp, 'dev.csv');
  fs.writeFileSync(train, csv(240, 1));
  fs.writeFileSync(dev, csv(24, 2));
  await trainTextModel({
    data: train, dev, textColumn: 'text', labelColumn: 'label',
    model: 'bert', hidden: 32, layers: 1, heads: 2, intermediate: 64, vocabSize: 200, maxLength: 16, epochs: 6, batchSize: 16, lr: 3e-3, seed: 0, out: modelDir,
  } as never);
}, 300_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const comparable = (r: Results) =>
  JSON.parse(JSON.stringify({ ...r, createdAt: undefined, command: undefined, environment: undefined }, (k, v) => (k === 'wallTimeMs' || k === 'queriesPerSecond' || k === 'wallSeconds' ? undefined : v)));

/** A `parry` child process with its output collected as it comes. */
function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const io = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (io.stdout += String(d)));
  child.stderr!.on('data', (d) => (io.stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, io, exited };
}

/** Wait until `test()` holds (checked every 50 ms), or fail after `ms` naming `what`. */
async function until(test: () => boolean, what: string, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!test()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// without redis-server: a failure under CI (startRedisServer throws in beforeAll), a printed skip elsewhere
describe.skipIf(!process.env.CI && !hasRedisServer())('parry submit / parry worker on a real redis-server', () => {
  const evalFlags = () => ['--model', modelDir, '--attack', 'pwws', '-n', '24', '--seed', '3'];

  it('three workers, one killed with SIGKILL mid-shard: the shard is retried (resumed from its journal), the merged results equal the single run', async () => {
    const single = path.join(tmp, 'single.json');
    expect((await parryInProcess(['eval', ...evalFlags(), '-q', '-o', single])).code).toBe(0);

    // short locks so that a dead worker's shard is back on the queue within seconds (BullMQ's defaults are 30 s)
    const workerArgs = ['worker', '--redis', redis!.url, '--queue', 'kill-test', '--lock-duration', '8000', '--stalled-interval', '1000', '--max-stalled', '2'];
    const workers = [0, 1, 2].map(() => start(workerArgs));
    for (const w of workers) await until(() => /waiting for shard jobs/.test(w.io.stderr), 'the workers to start');

    const results = path.join(tmp, 'shared');
    const merged = path.join(tmp, 'merged.json');
    const submit = start(['submit', ...evalFlags(), '--shards', '3', '--results-dir', results, '--redis', redis!.url, '--queue', 'kill-test', '-o', merged]);

    // kill -9 the worker of a shard whose journal holds some but not all of its 8 examples: each worker logs the
    // shards it starts (with its host:pid), the journal next to the shard's file says how far it got
    const journalLines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length - 1 : 0);
    let victim: { shard: number; pid: number; done: number } | undefined;
    await until(() => {
      const run = /run (run-[0-9a-f]{12}) on queue/.exec(submit.io.stderr)?.[1];
      if (!run) return false;
      for (const w of workers) {
        for (const m of w.io.stderr.matchAll(/shard (\d)\/3 of run-\w+: started on \S*:(\d+) \(attempt 1\)/g)) {
          const [shard, pid] = [Number(m[1]), Number(m[2])];
          const done = journalLines(path.join(results, run, `shard-${shard}-of-3.json.records.jsonl`));
          if (pid === w.child.pid && done >= 1 && done <= 5) victim = { shard, pid, done };
        }
      }
      return victim !== undefined || submit.child.exitCode !== null;
    }, 'a shard in progress');
    expect(victim, `no shard seen mid-attack; submit said:\n${submit.io.stderr}`).toBeDefined();
    const killed = workers.find((w) => w.child.pid === victim!.pid)!;
    killed.child.kill('SIGKILL');
    expect(await killed.exited).toBeNull(); // killed by the signal, no exit code
    // the examples it finished, as its journal holds them (read before the shard's lock expires and a worker resumes it)
    const runId = /run (run-[0-9a-f]{12}) on queue/.exec(submit.io.stderr)![1];
    const finished = new Set<number>();
    for (const l of fs.readFileSync(path.join(results, runId, `shard-${victim!.shard}-of-3.json.records.jsonl`), 'utf8').split('\n').slice(1)) {
      try {
        finished.add(JSON.parse(JSON.parse(l).body).record.index);
      } catch {
        // a line cut by the kill: that example is attacked again
      }
    }
    expect(finished.size).toBeGreaterThanOrEqual(1);

    expect(await submit.exited, submit.io.stderr).toBe(0);
    const run = /run (run-[0-9a-f]{12}) on queue kill-test/.exec(submit.io.stderr)![1];
    expect(submit.io.stdout).toBe(`merged 3 shards of ${run} (24 examples, 1 attack) into ${merged}\n`);

    // the merged file is the single run, example for example
    const got = readResults(merged);
    const want = readResults(single);
    expect(comparable(got)).toEqual(comparable(want));
    const entry = got.attacks[0];
    if (entry.modality !== 'text') throw new Error('text entry expected');
    // every example once, in order, with its own record
    expect(entry.n).toBe(24);
    expect(entry.examples.map((e) => e.index)).toEqual([...Array(24).keys()]);
    expect(entry.successful).toBeGreaterThan(0);

    // the killed worker's shard was started again (after a stalled run) by another worker, which resumed it
    const survivors = workers.filter((w) => w !== killed);
    const log = survivors.map((w) => w.io.stderr).join('');
    const tag = `shard ${victim!.shard}/3 of ${run}`;
    expect(log).toMatch(new RegExp(`${tag}: started on \\S+ \\(attempt [2-9], after [12] stalled runs?\\)`));
    const resumed = new RegExp(`${tag}: \\S*pwws: (\\d+) of 8 examples finished before`).exec(log);
    expect(resumed, log).not.toBeNull();
    expect(Number(resumed![1])).toBe(finished.size);
    // ... and sent exactly the queries of the examples the killed worker had not finished: none attacked twice
    const sent = Number(new RegExp(`${tag}: \\S*pwws: (\\d+) queries sent by this process`).exec(log)![1]);
    const block = entry.examples.slice(8 * victim!.shard, 8 * victim!.shard + 8);
    const rest = block.filter((e) => !finished.has(e.index)).reduce((sum, e) => sum + e.queries!, 0);
    expect(sent).toBe(rest);
    expect(sent).toBeLessThan(block.reduce((sum, e) => sum + e.queries!, 0));
    // every shard finished exactly once, none by the killed worker
    for (let i = 0; i < 3; i++) expect(log.match(new RegExp(`shard ${i}/3 of ${run}: done in`, 'g'))).toHaveLength(1);

    // the same command again adds nothing and merges at once; SIGTERM stops the workers cleanly
    const again = await parryInProcess(['submit', ...evalFlags(), '--shards', '3', '--results-dir', results, '--redis', redis!.url, '--queue', 'kill-test', '-o', merged]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`run ${run} on queue kill-test (${redis!.url}): 0 shard jobs added, 3 already there`);
    for (const w of survivors) w.child.kill('SIGTERM');
    for (const w of survivors) expect(await w.exited).toBe(0);
  }, 300_000);

  it('refuses a bad Redis URL, an unreachable server and a flag of the other modality in one line, exit 2', async () => {
    const line = (r: { stderr: string }) => {
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      return r.stderr.trim();
    };
    const base = ['submit', ...evalFlags(), '--shards', '2', '--results-dir', path.join(tmp, 'never'), '-o', path.join(tmp, 'never.json')];
    let r = await parryInProcess([...base, '--redis', 'localhost:6379']);
    expect(r.code).toBe(2);
    expect(line(r)).toMatch(/^parry: --redis "localhost:6379" is not a (redis:\/\/ or rediss:\/\/ )?URL; pass --redis redis:\/\/host:port\[\/db\]/);
    r = await parryInProcess(['worker'], { PARRY_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(line(r)).toBe('parry: cannot reach Redis at redis://127.0.0.1:1 (PARRY_REDIS_URL): ECONNREFUSED; start it (e.g. redis-server --port 1) or pass --redis redis://host:port[/db] (or set PARRY_REDIS_URL), e.g. --redis redis://127.0.0.1:6379');
    r = await parryInProcess([...base, '--redis', redis!.url, '--eps', '0.3']);
    expect(r.code).toBe(2);
    expect(line(r)).toBe('parry: --eps applies to image models; text attacks are bounded by their own options (see `parry list`)');
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  }, 120_000);
});
