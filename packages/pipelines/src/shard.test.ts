import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, runAttack, disposeAttackResult, untargeted, isParryError } from '@parry/core';
import { tinyBatch, tinyClassifier } from '@parry/core/testing';
import { pgd } from '@parry/attacks';
import { readResults, type Results } from '@parry/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateImageModel, trainImageModel } from './image.js';
import { mergeResults, mergeShardOutputs } from './merge.js';
import { parseShard, shardBlock } from './shard.js';
import { evaluateTextModel, trainTextModel } from './text.js';

/** The built package, for a check in another process. */
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-shard-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
});

/** The results without what legitimately differs between runs: timing and provenance. */
function comparable(r: Results): unknown {
  return JSON.parse(
    JSON.stringify({ ...r, createdAt: undefined, command: undefined, environment: undefined }, (k, v) => (k === 'wallTimeMs' || k === 'queriesPerSecond' ? undefined : v)),
  );
}

/** The one-line message of a refusal. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(isParryError(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('parseShard / shardBlock', () => {
  it('parses 0-based i/N and auto/N from the environment; refuses bad values in one line', () => {
    expect(parseShard('0/3', {})).toEqual({ index: 0, count: 3 });
    expect(parseShard('2/3', {})).toEqual({ index: 2, count: 3 });
    expect(parseShard('auto/4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '1' })).toEqual({ index: 1, count: 4 });
    expect(parseShard('auto/4', { PARRY_SHARD_INDEX: '2', JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 2, count: 4 });
    const bad = (spec: string, env: Record<string, string> = {}) => refusal(() => parseShard(spec, env));
    expect(bad('3/3')).toBe('--shard 3/3: shard index 3 is not below the shard count 3; shards are 0-based (0 to 2)');
    expect(bad('1/0')).toMatch(/^--shard 1\/0: N must be a positive integer; /);
    expect(bad('a/b')).toMatch(/^--shard "a\/b" is not i\/N; pass --shard i\/N/);
    expect(bad('-1/2')).toMatch(/is not i\/N/);
    expect(bad('auto/2')).toBe('--shard auto/2: none of PARRY_SHARD_INDEX, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID is set; set one to the 0-based shard index or pass --shard i/2');
    expect(bad('auto/2', { SLURM_ARRAY_TASK_ID: '2' })).toBe('SLURM_ARRAY_TASK_ID=2 (read by --shard auto/2): shard index 2 is not below the shard count 2; shards are 0-based (0 to 1)');
    expect(bad('auto/2', { JOB_COMPLETION_INDEX: 'x' })).toMatch(/^JOB_COMPLETION_INDEX="x" \(read by --shard auto\/2\) is not a non-negative integer/);
    for (const m of [bad('3/3'), bad('auto/2')]) expect(m).not.toContain('\n');
  });

  it('cuts contiguous blocks of whole units that cover every example once, whatever N', () => {
    for (const [total, unit] of [[50, 8], [7, 1], [3, 4], [0, 5]]) {
      for (let count = 1; count <= 9; count++) {
        const blocks = Array.from({ length: count }, (_, index) => shardBlock({ index, count }, total, unit));
        expect(blocks[0].start).toBe(0);
        expect(blocks[count - 1].end).toBe(total);
        for (let i = 1; i < count; i++) expect(blocks[i].start).toBe(blocks[i - 1].end);
        for (const b of blocks) expect(b.start % unit).toBe(0);
      }
    }
    // 7 batches of 8 over 50 examples in 3 shards: 2, 2 and 3 batches
    expect([0, 1, 2].map((index) => shardBlock({ index, count: 3 }, 50, 8))).toEqual([{ start: 0, end: 16 }, { start: 16, end: 32 }, { start: 32, end: 50 }]);
  });
});

describe('runAttack({ firstBatch })', () => {
  it("a block of batches draws its place's random streams: PGD with random start gives the whole run's rows (and other rows without firstBatch)", async () => {
    const model = tinyClassifier({ seed: 5 });
    const { x, labels } = tinyBatch(model, 12, 3);
    const attack = pgd({ steps: 3, randomStart: true });
    const before = tf.memory().numTensors;
    const all = await runAttack(attack, model, x, untargeted(labels), { epsilons: [0.3], seed: 4, batchSize: 4 });
    const xs = tf.slice(x, 8, 4);
    const ys = tf.slice(labels, 8, 4) as tf.Tensor1D;
    const placed = await runAttack(attack, model, xs, untargeted(ys), { epsilons: [0.3], seed: 4, batchSize: 4, firstBatch: 2 });
    const unplaced = await runAttack(attack, model, xs, untargeted(ys), { epsilons: [0.3], seed: 4, batchSize: 4 });
    const tail = tf.slice(all.perEpsilon[0].adversarial, 8, 4);
    const want = Array.from(await tail.data());
    expect(Array.from(await placed.perEpsilon[0].adversarial.data())).toEqual(want);
    expect(Array.from(await unplaced.perEpsilon[0].adversarial.data())).not.toEqual(want);
    for (const r of [all, placed, unplaced]) disposeAttackResult(r);
    tf.dispose([xs, ys, tail]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels]);
    model.dispose();
  });
});

describe('sharded image evaluation (PGD with random start) merges to the single run', () => {
  const modelDir = path.join(tmp, 'cnn');
  const common = { model: modelDir, attacks: ['pgd', 'fgsm'], epsilons: [0.1, 0.3], n: 50, batchSize: 8, seed: 7, optionPairs: ['pgd.steps=5'] };

  beforeAll(async () => {
    await trainImageModel({ epochs: 1, batchSize: 64, lr: 2e-3, seed: 0, limit: 640, out: modelDir });
  }, 180_000);

  it('1, 2 and 3 shards merged equal the unsharded results in every per-example record and summary number; refusals in one line', async () => {
    const single = await evaluateImageModel({ ...common, out: path.join(tmp, 'image-single.json') });
    const pgdEntry = single.results.attacks[0];
    if (pgdEntry.modality !== 'image') throw new Error('image entry expected');
    // the attack did something, at different strengths per example
    expect(pgdEntry.perEpsilon[1].robustAccuracy).toBeLessThan(single.cleanAccuracy);
    expect(pgdEntry.perEpsilon[1].linf!.count).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    const files: Record<number, string[]> = {};
    for (const count of [1, 2, 3]) {
      files[count] = [];
      for (let index = 0; index < count; index++) {
        const file = path.join(tmp, `image-${index}-of-${count}.json`);
        const r = await evaluateImageModel({ ...common, shard: { index, count }, out: file });
        expect(r.results.shard).toMatchObject({ index, count, total: 50, unit: 8 });
        files[count].push(file);
      }
      const merged = mergeResults(files[count]);
      expect(merged.shard).toBeUndefined();
      expect(comparable(merged)).toEqual(comparable(readResults(path.join(tmp, 'image-single.json'))));
    }
    expect(tf.memory().numTensors).toBe(before);

    // refusals: a missing shard, a shard twice, a shard of another run (another seed)
    expect(refusal(() => mergeResults([files[3][0], files[3][2]]))).toBe('shard 1/3 is missing (got 2 of 3); run them (parry eval --shard i/3) and pass every shard');
    expect(refusal(() => mergeResults([files[3][0], files[3][1], files[3][1], files[3][2]]))).toBe(`shard 1/3 is given twice (${files[3][1]} and ${files[3][1]}); pass each shard once`);
    const other = path.join(tmp, 'image-other-seed.json');
    await evaluateImageModel({ ...common, seed: 8, shard: { index: 1, count: 2 }, out: other });
    expect(refusal(() => mergeResults([files[2][0], other]))).toBe(
      `${other} is a shard of another run than ${files[2][0]}: its seed differs; merge the shards of one run (same model, data, attacks, seed and --shard i/N count)`,
    );
    expect(refusal(() => mergeResults([files[2][0], files[3][1]]))).toMatch(/: its shard count differs;/);
    expect(refusal(() => mergeResults([path.join(tmp, 'image-single.json')]))).toMatch(/is not the output of one shard \(it has no shard section\)/);

    // every shard carries the run's hashes: of the weights, and of all 50 examples (not only its block)
    const { sha256: modelHash } = single.results.model;
    const { sha256: dataHash } = single.results.dataset;
    expect(modelHash).toMatch(/^[0-9a-f]{64}$/);
    expect(dataHash).toMatch(/^[0-9a-f]{64}$/);
    for (const f of [...files[2], ...files[3]]) expect([readResults(f).model.sha256, readResults(f).dataset.sha256]).toEqual([modelHash, dataHash]);

    // the same model copied to another folder: same hash, and its shard merges (paths may differ between machines)
    const copy = path.join(tmp, 'elsewhere', 'cnn');
    fs.cpSync(modelDir, copy, { recursive: true });
    const moved = path.join(tmp, 'image-moved.json');
    expect((await evaluateImageModel({ ...common, model: copy, shard: { index: 1, count: 2 }, out: moved })).results.model.sha256).toBe(modelHash);
    expect(comparable(mergeResults([files[2][0], moved]))).toEqual(comparable(readResults(path.join(tmp, 'image-single.json'))));

    // one weight changed (same folder name, same shapes; parry.json's checksum updated as a retrain would): refused by the weights hash
    const changed = path.join(tmp, 'changed', 'cnn');
    fs.cpSync(modelDir, changed, { recursive: true });
    const weights = fs.readFileSync(path.join(changed, 'weights.bin'));
    weights.writeFloatLE(weights.readFloatLE(weights.length - 4) + 1e-3, weights.length - 4);
    fs.writeFileSync(path.join(changed, 'weights.bin'), weights);
    const meta = JSON.parse(fs.readFileSync(path.join(changed, 'parry.json'), 'utf8'));
    fs.writeFileSync(path.join(changed, 'parry.json'), JSON.stringify({ ...meta, weightsSha256: createHash('sha256').update(weights).digest('hex') }));
    const foreignModel = path.join(tmp, 'image-changed-model.json');
    const r = await evaluateImageModel({ ...common, model: changed, shard: { index: 1, count: 2 }, out: foreignModel });
    expect(r.results.model.sha256).not.toBe(modelHash);
    expect(r.results.dataset.sha256).toBe(dataHash);
    expect(refusal(() => mergeResults([files[2][0], foreignModel]))).toBe(
      `${foreignModel} is a shard of another run than ${files[2][0]}: its model weights hash (model.sha256) differs; merge the shards of one run (same model, data, attacks, seed and --shard i/N count)`,
    );

    // a shard computed on another backend or thread count is refused (bit-exactness needs the same kernels)
    const shard0 = readResults(files[2][0]);
    const shard1 = readResults(files[2][1]);
    const on = (name: string, threads: number) => ({ ...shard1, environment: { ...shard1.environment, backend: { ...(shard1.environment.backend as object), name, threads } } });
    const mine = shard0.environment.backend as { name: string; threads: number };
    expect(mine).toMatchObject({ name: expect.any(String), threads: expect.any(Number) });
    const merge2 = (other: Results) => refusal(() => mergeShardOutputs([{ source: 'a.json', results: shard0 }, { source: 'b.json', results: other }]));
    const fix = mine.name === 'tensorflow' ? `--backend tensorflow on a machine with ${mine.threads} cores (libtensorflow uses all of them)` : `--backend ${mine.name} --threads ${mine.threads} (or PARRY_THREADS=${mine.threads})`;
    expect(merge2(on(mine.name, mine.threads + 1))).toBe(
      `b.json ran on another backend/thread count (${mine.name}, ${mine.threads + 1} threads) than a.json (${mine.name}, ${mine.threads} threads): bit-exact merging needs the same; rerun it with ${fix}`,
    );
    const otherName = mine.name === 'cpu' ? 'wasm' : 'cpu';
    expect(merge2(on(otherName, mine.threads))).toMatch(new RegExp(`^b\\.json ran on another backend/thread count \\(${otherName}, ${mine.threads} threads\\) than a\\.json`));
    // the same backend merges
    expect(mergeShardOutputs([{ source: 'a.json', results: shard0 }, { source: 'b.json', results: on(mine.name, mine.threads) }]).attacks).toHaveLength(2);
  }, 300_000);
});

describe('sharded text evaluation (PWWS on a tiny Parry encoder) merges to the single run', () => {
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
  const train = path.join(tmp, 'train.csv');
  const dev = path.join(tmp, 'dev.csv');
  const modelDir = path.join(tmp, 'bert');

  beforeAll(async () => {
    fs.writeFileSync(train, csv(240, 1));
    fs.writeFileSync(dev, csv(30, 2));
    await trainTextModel({
      data: train, dev, textColumn: 'text', labelColumn: 'label',
      model: 'bert', hidden: 32, layers: 1, heads: 2, intermediate: 64, vocabSize: 200, maxLength: 16, epochs: 6, batchSize: 16, lr: 3e-3, seed: 0, out: modelDir,
    } as never);
  }, 180_000);

  it('1, 2 and 3 shards merged equal the unsharded results record for record; refusals in one line', async () => {
    const common = { model: modelDir, attacks: ['pwws', 'deepwordbug'], limit: 16, seed: 3 }; // deepwordbug draws random character edits per example
    const single = await evaluateTextModel({ ...common, out: path.join(tmp, 'text-single.json') });
    const entry = single.results.attacks[0];
    if (entry.modality !== 'text') throw new Error('text entry expected');
    expect(entry.successful).toBeGreaterThan(0);
    expect(entry.examples).toHaveLength(16);
    const before = tf.memory().numTensors;
    const files: Record<number, string[]> = {};
    for (const count of [1, 2, 3]) {
      files[count] = [];
      for (let index = 0; index < count; index++) {
        const file = path.join(tmp, `text-${index}-of-${count}.json`);
        const r = await evaluateTextModel({ ...common, shard: { index, count }, out: file });
        const block = shardBlock({ index, count }, 16, 1);
        expect(r.results.attacks[0].n).toBe(block.end - block.start);
        files[count].push(file);
      }
      expect(comparable(mergeResults(files[count]))).toEqual(comparable(readResults(path.join(tmp, 'text-single.json'))));
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(refusal(() => mergeResults(files[3].slice(1)))).toBe('shard 0/3 is missing (got 2 of 3); run them (parry eval --shard i/3) and pass every shard');
    expect(refusal(() => mergeResults([...files[2], files[2][0]]))).toMatch(/^shard 0\/2 is given twice/);
    const other = path.join(tmp, 'text-other.json');
    await evaluateTextModel({ ...common, optionPairs: ['pwws.maxModificationRate=0.1'], shard: { index: 1, count: 2 }, out: other });
    expect(refusal(() => mergeResults([files[2][0], other]))).toBe(
      `${other} is a shard of another run than ${files[2][0]}: its attack parry/pwws configuration differs; merge the shards of one run (same model, data, attacks, seed and --shard i/N count)`,
    );

    // every shard carries the hashes of the weights and of all 16 examples
    const { sha256: modelHash } = single.results.model;
    const { sha256: dataHash } = single.results.dataset;
    expect(modelHash).toMatch(/^[0-9a-f]{64}$/);
    expect(dataHash).toMatch(/^[0-9a-f]{64}$/);
    for (const f of [...files[2], ...files[3]]) expect([readResults(f).model.sha256, readResults(f).dataset.sha256]).toEqual([modelHash, dataHash]);

    // other examples of the same size, in a file of the same name: refused by the data hash
    fs.mkdirSync(path.join(tmp, 'other-data'));
    const otherDev = path.join(tmp, 'other-data', 'dev.csv');
    fs.writeFileSync(otherDev, csv(30, 9));
    const otherData = path.join(tmp, 'text-other-data.json');
    const r = await evaluateTextModel({ ...common, dev: otherDev, shard: { index: 1, count: 2 }, out: otherData });
    expect([r.results.dataset.n, r.results.model.sha256]).toEqual([16, modelHash]);
    expect(refusal(() => mergeResults([files[2][0], otherData]))).toBe(
      `${otherData} is a shard of another run than ${files[2][0]}: its data hash (dataset.sha256) differs; merge the shards of one run (same model, data, attacks, seed and --shard i/N count)`,
    );

    // another process loading the same folder (with the built @parry/pipelines) computes the same weights hash
    const script = `import { loadPretrained } from '@parry/text'; import { initBackend } from '@parry/core';
      const { textModelSha256 } = await import(${JSON.stringify(DIST)});
      await initBackend(); const p = await loadPretrained(${JSON.stringify(modelDir)}); console.log(textModelSha256(p.model)); p.model.dispose();`;
    const child = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.dirname(path.dirname(DIST)), encoding: 'utf8' });
    expect(child.trim().split('\n').pop()).toBe(modelHash);
  }, 300_000);
});
