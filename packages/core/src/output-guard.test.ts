import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { recoverInterrupted, writeDirAtomic } from './fs-atomic.js';
import { guardOutput, OUTPUT_MANIFEST, readOutputManifest, writeOutputDir } from './output-guard.js';

let root: string;
let cwd: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-guard-'));
  cwd = process.cwd();
  process.chdir(root);
});
afterEach(() => {
  process.chdir(cwd);
  fs.chmodSync(root, 0o755);
  fs.rmSync(root, { recursive: true, force: true });
});

const refused = (f: () => unknown, match: RegExp) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toMatch(match);
  expect((err as Error).message).not.toContain('\n');
};

const fill = (files: Record<string, string>) => (dir: string) => {
  for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), c);
};

describe('guardOutput', () => {
  it('--out <existing dir> holding a user file is refused and the file survives', async () => {
    fs.mkdirSync('x');
    fs.writeFileSync('x/notes', 'k');
    refused(() => guardOutput('x', { kind: 'image-model' }), /--out x exists and is not a Parry image model folder; .*--force/);
    await expect(writeOutputDir('x', { kind: 'image-model' }, fill({ 'model.json': '{}' }))).rejects.toThrow(UsageError);
    expect(fs.readFileSync('x/notes', 'utf8')).toBe('k');
    expect(fs.readdirSync('.')).toEqual(['x']);
  });

  it('--out . and a parent of the working directory are refused even with --force', () => {
    refused(() => guardOutput('.', { kind: 'image-model', force: true }), /is the working directory/);
    fs.mkdirSync('a/b', { recursive: true });
    process.chdir('a/b');
    refused(() => guardOutput('..', { kind: 'text-model', force: true }), /contains the working directory/);
    refused(() => guardOutput(os.homedir(), { kind: 'text-model', force: true }), /home directory|working directory/);
    refused(() => guardOutput('/', { kind: 'report', force: true }), /filesystem root|working directory/);
  });

  it('--out pointing at the dataset folder (or a folder holding it) is refused even with --force', () => {
    fs.mkdirSync('data/sst2', { recursive: true });
    fs.writeFileSync('data/sst2/train.tsv', 'a\t1\n');
    refused(() => guardOutput('data/sst2', { kind: 'text-model', force: true, protect: [{ path: 'data/sst2', flag: '--data' }] }), /is also --data data\/sst2/);
    refused(() => guardOutput('data', { kind: 'text-model', force: true, protect: [{ path: 'data/sst2/train.tsv', flag: '--data' }] }), /contains --data/);
    expect(() => guardOutput('data/sst2/model', { kind: 'text-model', protect: [{ path: 'data/sst2', flag: '--data' }] })).not.toThrow();
  });

  it('--checkpoint-dir out/ckpt --out out is refused before training', () => {
    refused(() => guardOutput('out', { kind: 'image-model', protect: [{ path: 'out/ckpt', flag: '--checkpoint-dir' }] }), /contains --checkpoint-dir out\/ckpt/);
  });

  it('--out f.txt (an existing file) is refused for a model folder and kept', () => {
    fs.writeFileSync('f.txt', 'mine');
    refused(() => guardOutput('f.txt', { kind: 'image-model' }), /is an existing file, not a Parry image model folder/);
    expect(fs.readFileSync('f.txt', 'utf8')).toBe('mine');
  });

  it('--out under a file and in a read-only folder are refused before any work', () => {
    fs.writeFileSync('f', '');
    refused(() => guardOutput('f/model', { kind: 'image-model' }), /cannot be created: f is a file/);
    if (process.getuid?.() !== 0) {
      fs.mkdirSync('ro');
      fs.chmodSync('ro', 0o555);
      refused(() => guardOutput('ro/model', { kind: 'image-model' }), /not writable/);
    }
  });

  it('a results path that holds another file is refused; a Parry results file is replaced', () => {
    fs.writeFileSync('r.json', '{"mine": true}');
    refused(() => guardOutput('r.json', { kind: 'results' }), /exists and is not a Parry results file/);
    fs.writeFileSync('p.json', '{"schema": "parry-results", "version": 1}');
    expect(() => guardOutput('p.json', { kind: 'results' })).not.toThrow();
    fs.mkdirSync('d');
    refused(() => guardOutput('d', { kind: 'results' }), /is an existing folder/);
  });

  it('a Parry output folder is replaced, one with a file Parry did not write is refused', async () => {
    await writeOutputDir('m', { kind: 'text-model' }, fill({ 'config.json': '{}', 'model.safetensors': 'w' }));
    expect(readOutputManifest('m')?.files).toEqual(['config.json', 'model.safetensors']);
    await writeOutputDir('m', { kind: 'text-model' }, fill({ 'config.json': '{"v":2}' }));
    expect(fs.readdirSync('m').sort()).toEqual([OUTPUT_MANIFEST, 'config.json']);
    fs.writeFileSync('m/notes.txt', 'user');
    refused(() => guardOutput('m', { kind: 'text-model' }), /holds notes.txt, which Parry did not write/);
    refused(() => guardOutput('m', { kind: 'image-model' }), /holds a Parry text model folder, not a Parry image model folder/);
    await writeOutputDir('m', { kind: 'text-model', force: true }, fill({ 'config.json': '{"v":3}' }));
    expect(fs.existsSync('m/notes.txt')).toBe(false);
  });

  it('a report folder keeps files it did not write and refuses a foreign report.html', () => {
    fs.mkdirSync('rep');
    fs.writeFileSync('rep/slides.pdf', 'x');
    expect(() => guardOutput('rep', { kind: 'report', flag: '-o' })).not.toThrow();
    fs.writeFileSync('rep/report.html', '<p>mine</p>');
    refused(() => guardOutput('rep', { kind: 'report', flag: '-o' }), /-o rep holds report.html, which Parry did not write/);
  });

  it('the guard runs again right before the swap: a file added during the run is not lost', async () => {
    await writeOutputDir('m', { kind: 'image-model' }, fill({ 'a.bin': '1' }));
    await expect(
      writeOutputDir('m', { kind: 'image-model' }, (tmp) => {
        fs.writeFileSync(path.join(tmp, 'a.bin'), '2');
        fs.writeFileSync('m/added-meanwhile', 'user');
      }),
    ).rejects.toThrow(/added-meanwhile/);
    expect(fs.readFileSync('m/added-meanwhile', 'utf8')).toBe('user');
    expect(fs.readFileSync('m/a.bin', 'utf8')).toBe('1');
    expect(fs.readdirSync('.').filter((n) => n.startsWith('.parry-'))).toEqual([]);
  });
});

describe('recoverInterrupted (kill -9 during an atomic directory write)', () => {
  const DEAD = 2 ** 22 + 12345; // above the default pid_max of 4,194,304: never a live process
  const stage = (kind: string, name: string, files: Record<string, string>) => {
    const p = `.parry-${kind}-${name}-${DEAD}-0123abcd`;
    fs.mkdirSync(p);
    fill(files)(p);
    return p;
  };

  it('a kill between the two renames leaves no model folder: the next run restores the new one', () => {
    const old = stage('old', 'model', { v: 'old' });
    const fresh = stage('new', 'model', { v: 'new' });
    const r = recoverInterrupted('model');
    expect(r.restored).toBe(path.resolve(fresh));
    expect(fs.readFileSync('model/v', 'utf8')).toBe('new');
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.readdirSync('.')).toEqual(['model']);
  });

  it('a kill before the swap keeps the old folder and drops the unfinished copies', () => {
    fs.mkdirSync('model');
    fs.writeFileSync('model/v', 'old');
    stage('tmp', 'model', { half: '' });
    stage('new', 'model', { v: 'new' });
    recoverInterrupted('model');
    expect(fs.readFileSync('model/v', 'utf8')).toBe('old');
    expect(fs.readdirSync('.')).toEqual(['model']);
  });

  it('a kill after the old folder was moved aside and before the new one was complete restores the old one', () => {
    stage('old', 'model', { v: 'old' });
    stage('tmp', 'model', { half: '' });
    recoverInterrupted('model');
    expect(fs.readFileSync('model/v', 'utf8')).toBe('old');
    expect(fs.readdirSync('.')).toEqual(['model']);
  });

  it('never touches the copies of a running process or of another target', async () => {
    const live = `.parry-tmp-model-${process.pid}-0123abcd`;
    fs.mkdirSync(live);
    const other = `.parry-old-model2-${DEAD}-0123abcd`;
    fs.mkdirSync(other);
    recoverInterrupted('model');
    expect(fs.existsSync(live)).toBe(true);
    expect(fs.existsSync(other)).toBe(true);
    await writeDirAtomic('model', fill({ v: '1' }));
    expect(fs.existsSync(live)).toBe(true);
  });

  it('a stale temporary file of writeFileAtomic is removed by the next write', async () => {
    fs.writeFileSync(`.parry-tmp-results.json-${DEAD}-0123abcd`, '{"half');
    const { writeFileAtomic } = await import('./fs-atomic.js');
    writeFileAtomic('results.json', '{}');
    expect(fs.readdirSync('.')).toEqual(['results.json']);
  });
});
