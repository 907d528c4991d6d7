/**
 * Reliability suite, data loss (issue 14, the critical group): an output path that exists and is not a Parry output
 * of the same kind is refused; Parry only replaces what it wrote; a diverged run writes nothing; a model folder and
 * its results appear together or not at all, whatever moment a `kill -9` lands on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff, expectBounded, expectOneLine, expectUnchanged, leftovers, runParry, sandbox, snapshot } from './harness.js';

const QUICK = ['--epochs', '1', '--limit', '128', '--quiet'];
const MODEL_FILES = ['.parry-output.json', 'model.json', 'parry.json', 'train-results.json', 'weights.bin'];

/** A toy text data set (a keyword decides the label) in `dir`/train.csv and dev.csv. */
function writeText(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const rows = (n: number, off: number) =>
    Array.from({ length: n }, (_, i) => `"the ${['film', 'plot', 'cast'][(i + off) % 3]} was ${(i + off) % 2 ? 'great' : 'awful'} really",${(i + off) % 2}`).join('\n');
  fs.writeFileSync(path.join(dir, 'train.csv'), `text,label\n${rows(40, 0)}\n`);
  fs.writeFileSync(path.join(dir, 'dev.csv'), `text,label\n${rows(12, 1)}\n`);
}
const TEXT = ['--model', 'bert', '--hidden', '16', '--layers', '1', '--heads', '2', '--intermediate', '32', '--max-length', '16', '--vocab-size', '100', '--epochs', '1', '--text-column', 'text', '--label-column', 'label', '--quiet'];

/** A complete image model folder: every file present and the results belong to it. */
function expectCompleteModel(dir: string): void {
  expect(fs.readdirSync(dir).sort()).toEqual(MODEL_FILES);
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'train-results.json'), 'utf8'));
  expect(results.schema).toBe('parry-results');
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'parry.json'), 'utf8')).format).toBe('parry-model');
}

describe('reliability: data loss', () => {
  let work: string;
  let good: string;
  let goodSnapshot: Map<string, string>;

  beforeAll(async () => {
    work = sandbox('data-loss');
    good = path.join(work, 'good');
    const r = await runParry(['train', ...QUICK, '--out', good], { cwd: work });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(good, 'train-results.json'))).toBe(true);
    goodSnapshot = snapshot(good);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('parry train --out <existing dir> holding a user file is refused; the file stays', async () => {
    const cwd = sandbox('existing-dir');
    fs.mkdirSync(path.join(cwd, 'x'));
    fs.writeFileSync(path.join(cwd, 'x', 'notes'), 'k');
    const before = snapshot(cwd);
    const r = await runParry(['train', ...QUICK, '--out', 'x'], { cwd });
    expectOneLine(r, 2, /--out x exists and is not a Parry image model folder; .*--force/);
    expectBounded(r, { maxMs: 20_000 });
    expectUnchanged(diff(before, snapshot(cwd)));
  });

  it('parry train --out . is refused, even with --force; the working directory is untouched', async () => {
    const cwd = sandbox('out-dot');
    fs.writeFileSync(path.join(cwd, 'keep.txt'), 'k');
    const before = snapshot(cwd);
    for (const extra of [[], ['--force']]) {
      const r = await runParry(['train', ...QUICK, '--out', '.', ...extra], { cwd });
      expectOneLine(r, 2, /--out \. is the working directory/);
    }
    expectUnchanged(diff(before, snapshot(cwd)));
  });

  it('a text model with --out pointing at the dataset folder is refused, even with --force; the dataset stays', async () => {
    const cwd = sandbox('out-dataset');
    writeText(path.join(cwd, 'data'));
    const before = snapshot(cwd);
    for (const extra of [[], ['--force']]) {
      const r = await runParry(['train', ...TEXT, '--data', 'data/train.csv', '--dev', 'data/dev.csv', '--out', 'data', ...extra], { cwd });
      expectOneLine(r, 2, /--out data contains --data data\/train.csv/);
    }
    expectUnchanged(diff(before, snapshot(cwd)));
  });

  it('parry train --out f.txt (an existing file) is refused and the file kept', async () => {
    const cwd = sandbox('out-file');
    fs.writeFileSync(path.join(cwd, 'f.txt'), 'mine');
    const before = snapshot(cwd);
    const r = await runParry(['train', ...QUICK, '--out', 'f.txt'], { cwd });
    expectOneLine(r, 2, /--out f\.txt is an existing file, not a Parry image model folder/);
    expectUnchanged(diff(before, snapshot(cwd)));
  });

  it('--checkpoint-dir out/ckpt --out out is refused before training, so the checkpoints are never deleted', async () => {
    const cwd = sandbox('ckpt-inside');
    const r = await runParry(['train', ...QUICK, '--checkpoint-dir', 'out/ckpt', '--out', 'out'], { cwd });
    expectOneLine(r, 2, /--out out contains --checkpoint-dir out\/ckpt/);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('parry train --lr 1e30 --out <good model> writes nothing and keeps the good model and its train-results.json', async () => {
    const r = await runParry(['train', ...QUICK, '--lr', '1e30', '--out', good], { cwd: work });
    expectOneLine(r, 2, /diverged.*nothing was written.*--lr/);
    expectUnchanged(diff(goodSnapshot, snapshot(good)));
    expect(leftovers(work)).toEqual([]);
  });

  it('--out under a file, or in a read-only folder, is refused before the run (not after it)', async () => {
    const cwd = sandbox('unwritable');
    fs.writeFileSync(path.join(cwd, 'file'), '');
    const under = await runParry(['train', '--epochs', '3', '--quiet', '--out', 'file/model'], { cwd });
    expectOneLine(under, 2, /--out file\/model cannot be created: file is a file/);
    expectBounded(under, { maxMs: 15_000 }); // three epochs on 8,000 digits take far longer: refused first
    if (process.getuid?.() !== 0) {
      fs.mkdirSync(path.join(cwd, 'ro'));
      fs.chmodSync(path.join(cwd, 'ro'), 0o555);
      const ro = await runParry(['train', '--epochs', '3', '--quiet', '--out', 'ro/model'], { cwd });
      expectOneLine(ro, 2, /not writable/);
      fs.chmodSync(path.join(cwd, 'ro'), 0o755);
    }
  });

  it('parry eval -o <a file that is not a results file> is refused; parry report -o <a folder with a foreign report.html> too', async () => {
    const cwd = sandbox('eval-out');
    fs.writeFileSync(path.join(cwd, 'notes.json'), '{"mine": 1}');
    fs.mkdirSync(path.join(cwd, 'rep'));
    fs.writeFileSync(path.join(cwd, 'rep', 'report.html'), '<p>my own</p>');
    const before = snapshot(cwd);
    const e = await runParry(['eval', '-m', good, '-a', 'fgsm', '--eps', '0.1', '-n', '8', '-o', 'notes.json', '-q'], { cwd });
    expectOneLine(e, 2, /--out notes\.json exists and is not a Parry results file/);
    const rep = await runParry(['report', path.join(good, 'train-results.json'), '-o', 'rep', '-q'], { cwd });
    expectOneLine(rep, 2, /-o rep holds report\.html, which Parry did not write/);
    expectUnchanged(diff(before, snapshot(cwd)));
    // a report folder with other files: the report is added, the files stay
    fs.rmSync(path.join(cwd, 'rep', 'report.html'));
    fs.writeFileSync(path.join(cwd, 'rep', 'slides.pdf'), 'x');
    const ok = await runParry(['report', path.join(good, 'train-results.json'), '-o', 'rep', '-q'], { cwd });
    expect(ok.code).toBe(0);
    expect(fs.readdirSync(path.join(cwd, 'rep')).sort()).toEqual(['.parry-output.json', 'report.html', 'report.md', 'slides.pdf']);
    const again = await runParry(['report', path.join(good, 'train-results.json'), '-o', 'rep', '-q'], { cwd });
    expect(again.code).toBe(0);
  });

  it('a Parry model folder is replaced by the next run of the same kind, with the model and its results together', async () => {
    const dir = path.join(work, 'again');
    for (let i = 0; i < 2; i++) {
      const r = await runParry(['train', ...QUICK, '--seed', String(i), '--out', dir], { cwd: work });
      expect(r.code, r.stderr).toBe(0);
      expectCompleteModel(dir);
    }
    expect(leftovers(work)).toEqual([]);
  });

  // kill -9 at each step of the directory swap (injected) and at random moments of the run: the folder is then the
  // old one or the new one, complete with its results; after the next run nothing temporary is left
  const points = ['dir-filled', 'dir-old-moved', 'dir-swapped'];
  for (const point of points) {
    it(`kill -9 at ${point} while replacing a model: the next run finds a complete model folder and cleans up`, async () => {
      const cwd = sandbox(`crash-${point}`);
      fs.cpSync(good, path.join(cwd, 'm'), { recursive: true });
      const r = await runParry(['train', ...QUICK, '--seed', '7', '--out', 'm'], { cwd, env: { PARRY_TEST_CRASH_AT: point } });
      expect(r.signal).toBe('SIGKILL');
      // until the next run the target may be missing (cut between the two renames), never partial
      if (fs.existsSync(path.join(cwd, 'm'))) expectCompleteModel(path.join(cwd, 'm'));
      // a later command on the same path settles the interrupted swap first
      const next = await runParry(['eval', '-m', 'm', '-a', 'fgsm', '--eps', '0.1', '-n', '8', '-o', 'res.json', '-q'], { cwd });
      expect(next.code, next.stderr).toBe(0);
      expectCompleteModel(path.join(cwd, 'm'));
      const fresh = JSON.parse(fs.readFileSync(path.join(cwd, 'm', 'train-results.json'), 'utf8')).seed;
      // before the swap began the old model stays; once the new one was complete it is the one kept
      expect(fresh).toBe(point === 'dir-filled' ? 0 : 7);
      expect(leftovers(cwd)).toEqual([]);
    });
  }

  it('kill -9 at random moments of parry train leaves the old model or the new one, never a torn folder', async () => {
    const cwd = sandbox('crash-random');
    fs.cpSync(good, path.join(cwd, 'm'), { recursive: true });
    const full = await runParry(['train', ...QUICK, '--seed', '3', '--out', 'm2'], { cwd });
    expect(full.code).toBe(0);
    let seed = 12345;
    for (let i = 0; i < 4; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const at = 300 + (seed % Math.max(1, full.ms));
      const r = await runParry(['train', ...QUICK, '--seed', '3', '--out', 'm'], { cwd, killWhen: ({ ms }) => ms >= at });
      if (r.code === 0) expectCompleteModel(path.join(cwd, 'm'));
      const next = await runParry(['eval', '-m', 'm', '-a', 'fgsm', '--eps', '0.1', '-n', '8', '-o', 'res.json', '-q'], { cwd });
      expect(next.code, `killed at ${at} ms: ${next.stderr}`).toBe(0);
      expectCompleteModel(path.join(cwd, 'm'));
      expect(leftovers(cwd).filter((p) => p.includes('.parry-tmp-m-'))).toEqual([]);
    }
  });

  it('kill -9 of parry eval at random moments never leaves a partial results file', async () => {
    const cwd = sandbox('crash-eval');
    const args = ['eval', '-m', good, '-a', 'fgsm', '--eps', '0.1', '-n', '64', '-o', 'res.json', '-q'];
    const full = await runParry(args, { cwd });
    expect(full.code).toBe(0);
    const complete = fs.readFileSync(path.join(cwd, 'res.json'), 'utf8');
    for (const at of [200, Math.round(full.ms * 0.6), Math.round(full.ms * 0.95)]) {
      await runParry(args, { cwd, killWhen: ({ ms }) => ms >= at });
      const now = JSON.parse(fs.readFileSync(path.join(cwd, 'res.json'), 'utf8'));
      expect(now.schema).toBe('parry-results');
      expect(Object.keys(now)).toEqual(Object.keys(JSON.parse(complete)));
    }
    const crash = await runParry(args, { cwd, env: { PARRY_TEST_CRASH_AT: 'file-written' } });
    expect(crash.signal).toBe('SIGKILL');
    expect(JSON.parse(fs.readFileSync(path.join(cwd, 'res.json'), 'utf8')).schema).toBe('parry-results');
    const next = await runParry(args, { cwd });
    expect(next.code).toBe(0);
    expect(leftovers(cwd)).toEqual([]);
  });
});
