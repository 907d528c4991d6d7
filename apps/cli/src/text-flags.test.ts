/**
 * `parry train` / `parry eval` on text models: every flag does what its help says or is refused with one line
 * (issue 13): --split test reads the test file, --dev without --data, -n for text, train --test, --opt and --goal for
 * text attacks, and flags of the other modality.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry, toyReviewsCsv } from './test-support.js';




const expectRefused = (r: { code: number | null; stderr: string }, message: RegExp) => {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 2 });
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
};

describe('parry text flags', () => {
  let work: string;
  const model = () => path.join(work, 'model');
  const cols = ['--text-column', 'review', '--label-column', 'sentiment', '--label-names', 'neg,pos'];
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-flags-'));
    fs.writeFileSync(path.join(work, 'train.csv'), toyReviewsCsv(300, 1));
    fs.writeFileSync(path.join(work, 'dev.csv'), toyReviewsCsv(40, 2));
    fs.writeFileSync(path.join(work, 'test.csv'), toyReviewsCsv(30, 3));
    fs.writeFileSync(path.join(work, 'other.csv'), toyReviewsCsv(25, 4));
    const small = ['--model', 'bert', '--hidden', '32', '--layers', '1', '--heads', '2', '--max-length', '24', '--vocab-size', '200', '--lr', '3e-3', '--epochs', '3', '--quiet'];
    const r = parry(['train', ...small, '--data', 'train.csv', '--dev', 'dev.csv', '--test', 'test.csv', ...cols, '--out', model()], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 300_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('train --test is recorded in parry_training.json', () => {
    const info = JSON.parse(fs.readFileSync(path.join(model(), 'parry_training.json'), 'utf8'));
    expect(info.data.test).toBe(path.join(work, 'test.csv'));
    expect(info.data.dev).toBe(path.join(work, 'dev.csv'));
  });

  it('eval --split test evaluates the recorded test file and says so', () => {
    const out = path.join(work, 'test.json');
    const r = parry(['eval', '--model', model(), '--split', 'test', '-o', out, '--quiet'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(res.dataset.split).toBe('test');
    expect(res.dataset.source).toBe(path.join(work, 'test.csv'));
    expect(res.clean.n).toBe(30);
    expect(r.stdout).toMatch(/^test accuracy [\d.]+% .* on 30 test examples of .*test\.csv/m);
  });

  it('eval --test <file> evaluates that file as the test split', () => {
    const out = path.join(work, 'test-other.json');
    const r = parry(['eval', '--model', model(), '--test', 'other.csv', '-o', out, '--quiet'], work);
    expect(r.code).toBe(0);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(res.dataset).toMatchObject({ split: 'test', n: 25, source: 'other.csv' });
  });

  it('eval --split test is refused with one line when the data has no test file', () => {
    const out = path.join(work, 'none.json');
    const r = parry(['eval', '--model', model(), '--data', 'train.csv', ...cols, '--split', 'test', '-o', out], work);
    expectRefused(r, /^parry: no test data: pass --test <file>/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('eval --dev <file> without --data evaluates that file with the training columns', () => {
    const out = path.join(work, 'dev-other.json');
    const r = parry(['eval', '--model', model(), '--dev', 'other.csv', '-o', out, '--quiet'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(res.dataset).toMatchObject({ split: 'dev', n: 25, source: 'other.csv' });
  });

  it('eval --dev with --split test, and --text-column without --data, are refused with one line', () => {
    expectRefused(parry(['eval', '--model', model(), '--dev', 'other.csv', '--split', 'test', '-o', path.join(work, 'x.json')], work), /--dev other\.csv is the dev file, but --split is test/);
    expectRefused(parry(['eval', '--model', model(), '--text-column', 'text', '-o', path.join(work, 'x.json')], work), /--text-column applies with --data/);
    expect(fs.existsSync(path.join(work, 'x.json'))).toBe(false);
  });

  it('-n limits the text examples evaluated (the same as --limit); both disagreeing are refused', () => {
    const out = path.join(work, 'n.json');
    const r = parry(['eval', '--model', model(), '-n', '7', '-o', out, '--quiet'], work);
    expect(r.code).toBe(0);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(res.dataset.n).toBe(7);
    expect(res.clean.n).toBe(7);
    expectRefused(parry(['eval', '--model', model(), '-n', '7', '--limit', '8', '-o', path.join(work, 'n2.json')], work), /-n 7 and --limit 8 disagree/);
  });

  it('--opt changes a text recipe: pwws.maxModificationRate=0.05 perturbs fewer words than the default', () => {
    const attack = (extra: string[], file: string) => {
      const out = path.join(work, file);
      const r = parry(['eval', '--model', model(), '--attack', 'pwws', '-n', '30', ...extra, '-o', out, '--quiet'], work);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return JSON.parse(fs.readFileSync(out, 'utf8')).attacks[0];
    };
    const base = attack([], 'pwws.json');
    const capped = attack(['--opt', 'pwws.maxModificationRate=0.05'], 'pwws-capped.json');
    expect(base.options.maxModificationRate).toBe(1);
    expect(capped.options.maxModificationRate).toBe(0.05);
    const changed = (a: { examples: Array<{ changed: unknown[] }> }) => a.examples.reduce((s, e) => s + e.changed.length, 0);
    // the cap allows one word per sentence (6-12 words): every example changes at most one word, and fewer in all
    expect(capped.examples.every((e: { changed: unknown[] }) => e.changed.length <= 1)).toBe(true);
    expect(base.examples.some((e: { changed: unknown[] }) => e.changed.length > 1)).toBe(true);
    expect(changed(capped)).toBeLessThan(changed(base));
  }, 300_000);

  it('an unknown text-attack option is refused with one line, exit 2, nothing written', () => {
    const out = path.join(work, 'nope.json');
    expectRefused(parry(['eval', '--model', model(), '--attack', 'pwws', '--opt', 'pwws.nope=1', '-o', out], work), /^parry: --opt pwws\.nope=1: parry\/pwws: unknown option "nope"/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--goal sets the goal of text attacks; a bad goal is one line', () => {
    const out = path.join(work, 'goal.json');
    const r = parry(['eval', '--model', model(), '--attack', 'deepwordbug', '--goal', 'targeted:1', '-n', '5', '-o', out, '--quiet'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).attacks[0].goal.kind).toBe('targeted');
    // end to end: --name is recorded, and the report names the run by it and shows the targeted goal with its label
    const named = path.join(work, 'goal-named.json');
    expect(parry(['eval', '--model', model(), '--attack', 'deepwordbug', '--goal', 'targeted:1', '--name', 'to pos', '-n', '5', '-o', named, '--quiet'], work).code).toBe(0);
    const res = JSON.parse(fs.readFileSync(named, 'utf8'));
    expect(res.model.runName).toBe('to pos');
    expect(res.attacks[0].goal).toEqual({ kind: 'targeted', target: 1 });
    expect(res.attacks[0].examples).toHaveLength(5); // a compact record of every example
    const rep = parry(['report', named, '-o', path.join(work, 'goal-report'), '-q'], work);
    expect(rep.stderr).toBe('');
    const md = fs.readFileSync(path.join(work, 'goal-report', 'report.md'), 'utf8');
    expect(md).toContain('- **to pos**: clean accuracy');
    expect(md).toMatch(/\| parry\/deepwordbug \| targeted:1 \(pos\) \|/);
    expectRefused(parry(['eval', '--model', model(), '--name', ' ', '-o', path.join(work, 'g3.json')], work), /^parry: --name is empty; give the run a name/);
    expectRefused(parry(['eval', '--model', path.join(work, 'no-image-model'), '--name', 'a\nb', '-o', path.join(work, 'g3.json')], work), /^parry: --name has a line break/);
    const bad = parry(['eval', '--model', model(), '--attack', 'deepwordbug', '--goal', 'sideways', '-o', path.join(work, 'g2.json')], work);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--goal/);
  });

  it('flags of the other modality are refused with one line', () => {
    expectRefused(parry(['eval', '--model', model(), '--eps', '0.1', '-o', path.join(work, 'e.json')], work), /--eps applies to image models/);
    expectRefused(parry(['eval', '--model', model(), '--attack', 'fgsm', '-o', path.join(work, 'e.json')], work), /fgsm attacks image models/);
    expectRefused(parry(['eval', '--model', path.join(work, 'no-image-model'), '--split', 'test', '-o', path.join(work, 'e.json')], work), /--split applies to text models/);
    expectRefused(parry(['train', '--dev', 'dev.csv', '--out', path.join(work, 'img')], work), /--dev applies to text models/);
    expectRefused(parry(['train', '--model', 'bert', '--data', 'train.csv', ...cols, '--schedule', 'cyclic', '--out', path.join(work, 'txt')], work), /--schedule applies to the image CNN/);
    expect(fs.existsSync(path.join(work, 'e.json'))).toBe(false);
  });
});
