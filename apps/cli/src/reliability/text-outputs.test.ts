/**
 * Reliability suite, text model folders: what a folder says about itself (`parry_training.json`) is checked before it
 * is believed, and a text model is written like an image model (together with its results, never when diverged).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff, expectBounded, expectOneLine, expectUnchanged, runParry, sandbox, snapshot } from './harness.js';

const TEXT = ['--model', 'bert', '--hidden', '16', '--layers', '1', '--heads', '2', '--intermediate', '32', '--max-length', '16', '--vocab-size', '100', '--epochs', '1', '--text-column', 'text', '--label-column', 'label', '--quiet'];

describe('reliability: text model folders', () => {
  let work: string;
  let model: string;
  let modelSnapshot: Map<string, string>;

  beforeAll(async () => {
    work = sandbox('text-outputs');
    const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => `"the film was ${(i + off) % 2 ? 'great' : 'awful'}",${(i + off) % 2}`).join('\n');
    fs.writeFileSync(path.join(work, 'train.csv'), `text,label\n${rows(30, 0)}\n`);
    fs.writeFileSync(path.join(work, 'dev.csv'), `text,label\n${rows(10, 1)}\n`);
    fs.writeFileSync(path.join(work, 'secret.txt'), 'ssh-rsa AAAA private\nline two\n');
    model = path.join(work, 'm');
    const r = await runParry(['train', ...TEXT, '--data', 'train.csv', '--dev', 'dev.csv', '--out', model], { cwd: work });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    modelSnapshot = snapshot(model);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const copy = (name: string) => {
    const dir = path.join(work, name);
    fs.cpSync(model, dir, { recursive: true });
    return dir;
  };

  it('a truncated parry_training.json is one line naming the file, not a stack', async () => {
    const dir = copy('truncated');
    const file = path.join(dir, 'parry_training.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 25));
    const before = snapshot(work);
    const r = await runParry(['eval', '--model', dir, '-o', 'r.json', '-q'], { cwd: work });
    expectOneLine(r, 2, /parry_training\.json is not valid JSON .*pass --data/);
    expectBounded(r, { maxMs: 30_000 });
    expectUnchanged(diff(before, snapshot(work)));
  });

  it('a parry_training.json pointing at any file on disk is not read into results', async () => {
    const dir = copy('pointing');
    const file = path.join(dir, 'parry_training.json');
    const info = JSON.parse(fs.readFileSync(file, 'utf8'));
    info.data = { data: path.join(work, 'secret.txt'), format: 'tsv', textColumn: '0' };
    fs.writeFileSync(file, JSON.stringify(info));
    const before = snapshot(work);
    for (const args of [['eval', '--model', dir, '-o', 'r.json', '-q'], ['eval', '--model', dir, '--attack', 'deepwordbug', '--limit', '2', '-o', 'r.json', '-q']]) {
      const r = await runParry(args, { cwd: work });
      expectOneLine(r, 2, /names .*secret\.txt, which is not a dataset folder or a \.csv\/\.tsv\/\.jsonl file; pass --data/);
      expect(r.stdout).not.toContain('ssh-rsa');
    }
    // a folder Parry did not write (no output manifest) cannot name data at all
    fs.rmSync(path.join(dir, '.parry-output.json'));
    info.data = { data: path.join(work, 'train.csv'), textColumn: 'text', labelColumn: 'label' };
    fs.writeFileSync(file, JSON.stringify(info));
    const r = await runParry(['eval', '--model', dir, '-o', 'r.json', '-q'], { cwd: work });
    expectOneLine(r, 2, /was not written by this version of `parry train`; pass --data/);
    expectUnchanged(diff(before, snapshot(work)), ['pointing']); // only the test's own edits there
    // with --data the user says what to read, and the folder evaluates
    const ok = await runParry(['eval', '--model', dir, '--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'text', '--label-column', 'label', '-o', 'r.json', '-q'], { cwd: work });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('parry train --lr 1e30 --out <good text model> writes nothing and keeps the model', async () => {
    const r = await runParry(['train', ...TEXT, '--lr', '1e30', '--max-grad-norm', '0', '--warmup', '0', '--batch-size', '8', '--epochs', '3', '--data', 'train.csv', '--dev', 'dev.csv', '--out', model], { cwd: work });
    expectOneLine(r, 2, /NaN.*lower the learning rate/);
    expectUnchanged(diff(modelSnapshot, snapshot(model)));
  });

  it('parry train (text) --out <a folder with a user file> is refused; the same command on a Parry folder replaces it', async () => {
    const dir = copy('with-notes');
    fs.writeFileSync(path.join(dir, 'notes.md'), 'mine');
    const r = await runParry(['train', ...TEXT, '--data', 'train.csv', '--dev', 'dev.csv', '--out', dir], { cwd: work });
    expectOneLine(r, 2, /holds notes\.md, which Parry did not write/);
    expect(fs.readFileSync(path.join(dir, 'notes.md'), 'utf8')).toBe('mine');
  });

  it('fine-tuning with --max-length above the checkpoint positions is refused; the default is capped with a note', async () => {
    const ft = ['train', '--model', model, '--epochs', '1', '--text-column', 'text', '--label-column', 'label', '--data', 'train.csv', '--dev', 'dev.csv'];
    const r = await runParry([...ft, '--max-length', '64', '--out', 'ft1', '-q'], { cwd: work });
    expectOneLine(r, 2, /--max-length 64 is above the 16 positions of .*; pass --max-length 16 or less/);
    expect(fs.existsSync(path.join(work, 'ft1'))).toBe(false);
    const capped = await runParry([...ft, '--out', 'ft2'], { cwd: work });
    expect(capped.code, capped.stderr).toBe(0);
    expect(capped.stderr).toMatch(/--max-length 128 \(the default\) is above the 16 positions .*: using 16/);
    expect(JSON.parse(fs.readFileSync(path.join(work, 'ft2', 'parry_training.json'), 'utf8')).maxLength).toBe(16);
  });

  it('parry report -o <an existing file> is one line, and the file is kept', async () => {
    fs.writeFileSync(path.join(work, 'out.html'), 'mine');
    const r = await runParry(['report', path.join(model, 'train-results.json'), '-o', 'out.html', '-q'], { cwd: work });
    expectOneLine(r, 2, /-o out\.html is an existing file, not a Parry report folder/);
    expect(fs.readFileSync(path.join(work, 'out.html'), 'utf8')).toBe('mine');
  });
});
