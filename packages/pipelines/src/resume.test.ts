// Issue 18: `--resume` of an evaluation killed with SIGKILL mid-run: same final results, no example attacked twice
// (text: count the queries; image: count the gradient evaluations).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, isParryError } from '@parry/core';
import { readResults, type Results } from '@parry/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPath, openJournal } from './journal.js';
import { evaluateImageModel, trainImageModel } from './image.js';
import { evaluateTextModel, trainTextModel } from './text.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-resume-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

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
const modelDir = path.join(tmp, 'bert');

beforeAll(async () => {
  await initBackend();
  const train = path.join(tmp, 'train.csv');
  const dev = path.join(tmp, 'dev.csv');
  fs.writeFileSync(train, csv(240, 1));
  fs.writeFileSync(dev, csv(40, 2));
  await trainTextModel({
    data: train, dev, textColumn: 'text', labelColumn: 'label',
    model: 'bert', hidden: 32, layers: 1, heads: 2, intermediate: 64, vocabSize: 200, maxLength: 16, epochs: 6, batchSize: 16, lr: 3e-3, seed: 0, out: modelDir,
  } as never);
}, 180_000);

const comparable = (r: Results) =>
  JSON.parse(JSON.stringify({ ...r, createdAt: undefined, command: undefined, environment: undefined }, (k, v) => (k === 'wallTimeMs' || k === 'queriesPerSecond' ? undefined : v)));

/** Valid record lines of a journal, per attack: how many and their queries. */
function journalRecords(file: string): Map<number, { count: number; queries: number }> {
  const out = new Map<number, { count: number; queries: number }>();
  for (const l of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
    try {
      const { attack, record } = JSON.parse(JSON.parse(l).body);
      const m = out.get(attack) ?? { count: 0, queries: 0 };
      out.set(attack, { count: m.count + 1, queries: m.queries + record.queries });
    } catch {
      // a cut line: the resumed run attacks that example again
    }
  }
  return out;
}

describe('parry eval --resume (text)', () => {
  const run = { model: modelDir, attacks: ['pwws', 'deepwordbug'], limit: 24, seed: 3 };

  it('killed with SIGKILL mid-run, resumed: the results of an uninterrupted run, and no finished example queried again', async () => {
    const reference = await evaluateTextModel({ ...run, out: path.join(tmp, 'reference.json') });
    const out = path.join(tmp, 'resumed.json');
    const journal = journalPath(out);
    // the child sleeps 60 ms after each example so that the kill lands mid-attack
    const script = path.join(tmp, 'child.mjs');
    fs.writeFileSync(
      script,
      `const p = await import(${JSON.stringify(DIST)});
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60);
await p.evaluateTextModel({ ...${JSON.stringify(run)}, out: ${JSON.stringify(out)}, resume: true, onAttackExample: pause });
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // wait until the second attack has finished a few examples (the first one is complete), then kill -9
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (fs.existsSync(journal) && (journalRecords(journal).get(1)?.count ?? 0) >= 4) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    expect(await exited, stderr).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fs.existsSync(out)).toBe(false);
    const before = journalRecords(journal);
    expect(before.get(0)?.count).toBe(24);
    expect(before.get(1)!.count).toBeGreaterThanOrEqual(4);
    expect(before.get(1)!.count).toBeLessThan(24);
    fs.appendFileSync(journal, '{"sum":"0123456789abcdef","body":"{\\"attack\\":1,'); // a line cut by the kill

    const logs: string[] = [];
    const resumed = await evaluateTextModel({ ...run, out, resume: true, log: (l) => logs.push(l) });
    expect(comparable(readResults(out))).toEqual(comparable(readResults(path.join(tmp, 'reference.json'))));
    expect(comparable(resumed.results)).toEqual(comparable(reference.results));
    expect(logs).toContain(`resuming: ${24 + before.get(1)!.count} finished examples read from ${journal} (1 cut or damaged lines dropped)`);
    // queries: this process sent exactly what the uninterrupted run spent on the examples it had not finished
    const total = reference.attacks.map((a) => a.summary.totalQueries);
    expect(logs).toContain(`parry/pwws: 0 queries sent by this process`);
    expect(logs).toContain(`parry/deepwordbug: ${total[1] - before.get(1)!.queries} queries sent by this process`);
    expect(total[1] - before.get(1)!.queries).toBeLessThan(total[1]);
    expect(fs.existsSync(journal)).toBe(false); // the results hold every record now
  }, 300_000);

  it('refuses the journal of another run, and --resume without --out, in one line', async () => {
    const out = path.join(tmp, 'other.json');
    openJournal(out, { something: 'else' }, { resume: true }).close();
    const err = await evaluateTextModel({ ...run, out, resume: true }).catch((e: unknown) => e);
    expect(isParryError(err)).toBe(true);
    expect((err as Error).message).toBe(`--resume: ${journalPath(out)} is the record journal of another run (other model, data, attacks, seed or options); repeat that run's command, or delete the journal to start over`);
    const err2 = await evaluateTextModel({ ...run, resume: true }).catch((e: unknown) => e);
    expect((err2 as Error).message).toBe('--resume keeps its record journal next to the results file; give --out');
  }, 120_000);
});

describe('parry eval --resume (image)', () => {
  const imageModel = path.join(tmp, 'cnn');
  const run = { model: imageModel, attacks: ['pgd', 'fgsm'], epsilons: [0.1, 0.3], n: 48, batchSize: 8, seed: 2, optionPairs: ['pgd.steps=4'] };

  beforeAll(async () => {
    await trainImageModel({ epochs: 1, batchSize: 64, lr: 2e-3, seed: 0, limit: 640, out: imageModel });
  }, 180_000);

  it('killed with SIGKILL mid-attack, resumed: the uninterrupted results, and finished batches are not attacked again', async () => {
    const reference = await evaluateImageModel({ ...run, out: path.join(tmp, 'image-reference.json') });
    const out = path.join(tmp, 'image-resumed.json');
    const journal = journalPath(out);
    const script = path.join(tmp, 'image-child.mjs');
    // the child sleeps 150 ms after each batch so that the kill lands mid-attack
    fs.writeFileSync(
      script,
      `const p = await import(${JSON.stringify(DIST)});
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150);
await p.evaluateImageModel({ ...${JSON.stringify(run)}, out: ${JSON.stringify(out)}, resume: true, progress: () => ({ update: pause, stop() {} }) });
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (fs.existsSync(journal) && (journalRecords(journal).get(0)?.count ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    expect(await exited, stderr).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fs.existsSync(out)).toBe(false);
    const finished = journalRecords(journal).get(0)!.count;
    expect(finished).toBeGreaterThanOrEqual(2);
    expect(finished).toBeLessThan(6);

    const logs: string[] = [];
    const progress = (label: string) => ({ update() {}, stop: (m?: string) => logs.push(m ?? label) });
    const resumed = await evaluateImageModel({ ...run, out, resume: true, log: (l) => logs.push(l), progress });
    expect(comparable(readResults(out))).toEqual(comparable(readResults(path.join(tmp, 'image-reference.json'))));
    expect(comparable(resumed.results)).toEqual(comparable(reference.results));
    // PGD-4 on 8 examples: 4 gradient evaluations per example per epsilon; the finished batches are not redone
    const pgdTotal = (reference.results.attacks[0] as { gradientEvaluations: number }).gradientEvaluations;
    expect(pgdTotal).toBe(48 * 4 * 2);
    expect(logs).toContain(`resuming: ${finished} finished batches read from ${journal}`);
    expect(logs).toContain(`parry/pgd: done; ${pgdTotal - finished * 8 * 4 * 2} gradient evaluations by this process`);
    expect(fs.existsSync(journal)).toBe(false);
  }, 300_000);
});
