// Issue 18: `parry eval --shard i/N` (or auto/N from the environment) and `parry merge` (exit 2 and one line on refusal).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@parry/core';
import { readResults, type Results } from '@parry/metrics';
import { trainImageModel } from '@parry/pipelines';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry as spawnParry, parryInProcess } from './test-support.js';

const parry = parryInProcess;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-merge-cli-'));
const model = path.join(dir, 'cnn');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
  await trainImageModel({ epochs: 1, batchSize: 64, lr: 2e-3, seed: 0, limit: 320, out: model });
}, 180_000);

const comparable = (r: Results) =>
  JSON.parse(JSON.stringify({ ...r, createdAt: undefined, command: undefined, environment: undefined }, (k, v) => (k === 'wallTimeMs' ? undefined : v)));

describe('parry eval --shard / parry merge', () => {
  const evalArgs = ['eval', '--model', model, '--attack', 'pgd', '--eps', '0.2', '-n', '30', '--batch-size', '8', '--opt', 'pgd.steps=3', '--seed', '5', '-q'];

  it('three shards (one by flag, two by environment) merge into the unsharded results; the merged file reads back', async () => {
    const single = path.join(dir, 'single.json');
    expect((await parry([...evalArgs, '-o', single])).code).toBe(0);
    const shards = [0, 1, 2].map((i) => path.join(dir, `shard-${i}.json`));
    expect((await parry([...evalArgs, '--shard', '0/3', '-o', shards[0]])).code).toBe(0);
    expect((await parry([...evalArgs, '--shard', 'auto/3', '-o', shards[1]], { JOB_COMPLETION_INDEX: '1' })).code).toBe(0);
    expect((await parry([...evalArgs, '--shard', 'auto/3', '-o', shards[2]], { SLURM_ARRAY_TASK_ID: '2' })).code).toBe(0);
    expect(readResults(shards[2]).shard).toMatchObject({ index: 2, count: 3, total: 30, start: 16, end: 30, unit: 8 });
    const merged = path.join(dir, 'merged.json');
    const r = await parry(['merge', shards[2], shards[0], shards[1], '-o', merged]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`merged 3 shards (30 examples, 1 attack) into ${merged}\n`);
    expect(comparable(readResults(merged))).toEqual(comparable(readResults(single)));

    // a shard run by another process (the built CLI) carries the same weights and data hashes, and merges with the others
    const spawned = path.join(dir, 'shard-1-spawned.json');
    const p = spawnParry([...evalArgs, '--shard', '1/3', '-o', spawned], dir);
    expect(p).toMatchObject({ code: 0, stderr: '' });
    const hashes = (f: string) => [readResults(f).model.sha256, readResults(f).dataset.sha256];
    expect(hashes(shards[0])[0]).toMatch(/^[0-9a-f]{64}$/);
    for (const f of [single, shards[1], shards[2], spawned]) expect(hashes(f)).toEqual(hashes(shards[0]));
    const merged2 = path.join(dir, 'merged-spawned.json');
    expect((await parry(['merge', shards[0], spawned, shards[2], '-o', merged2])).code).toBe(0);
    expect(comparable(readResults(merged2))).toEqual(comparable(readResults(single)));
  }, 300_000);

  it('refuses bad shard values and incomplete or mixed shard sets with one line and exit 2, writing nothing', async () => {
    const line = (r: { stderr: string }) => {
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      return r.stderr.trim();
    };
    const out = path.join(dir, 'never.json');
    let r = await parry([...evalArgs, '--shard', '3/3', '-o', out]);
    expect(r.code).toBe(2);
    expect(line(r)).toBe('parry: --shard 3/3: shard index 3 is not below the shard count 3; shards are 0-based (0 to 2)');
    r = await parry([...evalArgs, '--shard', 'auto/3', '-o', out], { PARRY_SHARD_INDEX: '', JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: '' });
    expect(r.code).toBe(2);
    expect(line(r)).toBe('parry: --shard auto/3: none of PARRY_SHARD_INDEX, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID is set; set one to the 0-based shard index or pass --shard i/3');
    r = await parry([...evalArgs, '--resume', '--shard', '0/2', '-o', out]);
    expect(r.code).toBe(2);
    expect(line(r)).toBe('parry: --resume and --shard cannot be combined for image models yet; re-run a killed shard from the start');
    const shards = [0, 1, 2].map((i) => path.join(dir, `shard-${i}.json`));
    r = await parry(['merge', shards[0], shards[2], '-o', out]);
    expect(r.code).toBe(2);
    expect(line(r)).toBe('parry: shard 1/3 is missing (got 2 of 3); run them (parry eval --shard i/3) and pass every shard');
    r = await parry(['merge', ...shards, shards[0], '-o', out]);
    expect(r.code).toBe(2);
    expect(line(r)).toMatch(/^parry: shard 0\/3 is given twice/);
    const foreign = path.join(dir, 'foreign.json');
    expect((await parry([...evalArgs, '--eps', '0.3', '--shard', '1/3', '-o', foreign])).code).toBe(0);
    r = await parry(['merge', shards[0], foreign, shards[2], '-o', out]);
    expect(r.code).toBe(2);
    expect(line(r)).toBe(`parry: ${foreign} is a shard of another run than ${shards[0]}: its attack parry/pgd configuration differs; merge the shards of one run (same model, data, attacks, seed and --shard i/N count)`);
    r = await parry(['merge', ...shards, '-o', shards[0]]);
    expect(r.code).toBe(2);
    expect(line(r)).toMatch(/^parry: -o .*shard-0\.json is also shard file/);
    expect(fs.existsSync(out)).toBe(false);
  }, 300_000);
});
