/**
 * `--truncation head|tail|head+tail` (issue 16): `parry train` saves the strategy with the model and counts the texts
 * cut by the token limit; `parry eval` uses the model's strategy unless told otherwise and counts its split too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry, toyReviewsCsv } from './test-support.js';

describe('--truncation', () => {
  let work: string;
  const small = ['--model', 'bert', '--hidden', '16', '--layers', '1', '--heads', '2', '--max-length', '8', '--vocab-size', '200', '--epochs', '1'];
  const data = ['--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--label-column', 'sentiment', '--quiet'];
  /** Texts of the toy reviews with more than the 6 word tokens --max-length 8 leaves (one token per word, no punctuation). */
  const longOnes = (file: string) => fs.readFileSync(path.join(work, file), 'utf8').trim().split('\n').slice(1).filter((l) => l.split('",')[0].slice(1).split(' ').length > 6).length;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-truncation-'));
    fs.writeFileSync(path.join(work, 'train.csv'), toyReviewsCsv(80, 1));
    fs.writeFileSync(path.join(work, 'dev.csv'), toyReviewsCsv(30, 2));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('train --truncation tail: one line with the texts cut per split, the strategy saved; eval uses it, --truncation overrides it', () => {
    const out = path.join(work, 'tail');
    const r = parry(['train', ...small, ...data, '--truncation', 'tail', '--out', out], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [trainCut, devCut] = [longOnes('train.csv'), longOnes('dev.csv')];
    expect(trainCut).toBeGreaterThan(0);
    expect(r.stdout).toMatch(new RegExp(`^truncation tail \\(8 tokens\\): train ${trainCut} of 80 texts cut \\([\\d.]+%\\), [\\d.]+% of words seen; dev ${devCut} of 30 texts cut \\([\\d.]+%\\), [\\d.]+% of words seen$`, 'm'));
    expect(JSON.parse(fs.readFileSync(path.join(out, 'parry_training.json'), 'utf8')).truncation).toBe('tail');
    const trained = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8'));
    expect(trained.truncation).toMatchObject({ strategy: 'tail', maxLength: 8, splits: [{ split: 'train', n: 80, truncated: trainCut }, { split: 'dev', n: 30, truncated: devCut }] });
    expect(trained.truncation.splits[0].visibleWordShare).toBeLessThan(1);

    const e = parry(['eval', '--model', out, '--out', path.join(work, 'eval.json'), '--quiet'], work);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(new RegExp(`^truncation tail \\(8 tokens\\): dev ${devCut} of 30 texts cut`, 'm'));
    const results = JSON.parse(fs.readFileSync(path.join(work, 'eval.json'), 'utf8'));
    expect(results.truncation).toEqual({ ...trained.truncation, splits: [trained.truncation.splits[1]] });
    const h = parry(['eval', '--model', out, '--truncation', 'head+tail', '--out', path.join(work, 'eval-ht.json'), '--quiet'], work);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^truncation head\+tail \(8 tokens\): dev /m);
    expect(JSON.parse(fs.readFileSync(path.join(work, 'eval-ht.json'), 'utf8')).truncation.strategy).toBe('head+tail');
  }, 60_000);

  it('head by default; a bad strategy and an image model are refused with one line, exit 2', () => {
    const out = path.join(work, 'head');
    const r = parry(['train', ...small, ...data, '--limit', '20', '--out', out], work);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^truncation head \(8 tokens\): train \d+ of 20 texts cut/m);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'parry_training.json'), 'utf8')).truncation).toBe('head');
    const bad = parry(['train', ...small, ...data, '--truncation', 'middle', '--out', path.join(work, 'never')], work);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--truncation <strategy>' argument 'middle' is invalid\. Allowed choices are head, tail, head\+tail/);
    const image = parry(['train', '--truncation', 'tail', '--out', path.join(work, 'never')], work);
    expect(image.code).toBe(2);
    expect(image.stderr).toMatch(/--truncation applies to text models/);
    expect(fs.existsSync(path.join(work, 'never'))).toBe(false);
  }, 60_000);
});
