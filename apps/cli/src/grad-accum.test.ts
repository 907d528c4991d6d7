/**
 * `parry train --grad-accum` (issue 17): the run records its micro-batches, a bad value is refused in one line, and a
 * run whose estimated memory cannot fit the backend stops before training with one line naming the --grad-accum that
 * fits, writing no model.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry, seeded, toyReviewsCsv } from './test-support.js';

describe('parry train --grad-accum', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-accum-'));
    fs.writeFileSync(path.join(work, 'reviews.csv'), toyReviewsCsv(120, 3));
    // long texts: 400 words each, so sequences reach --max-length
    const rand = seeded(9);
    const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma', 'kappa', 'theta'];
    const rows = Array.from({ length: 12 }, (_, i) => `"${Array.from({ length: 400 }, () => words[rand(words.length)]).join(' ')}",${i % 2}`);
    fs.writeFileSync(path.join(work, 'long.csv'), `review,sentiment\n${rows.join('\n')}\n`);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const small = ['--model', 'bert', '--hidden', '32', '--layers', '1', '--heads', '2', '--vocab-size', '200', '--text-column', 'review', '--label-column', 'sentiment', '--quiet'];

  it('trains with micro-batches and records them; 0 is refused in one line', () => {
    const out = path.join(work, 'm');
    const r = parry(['train', ...small, '--data', 'reviews.csv', '--dev', 'reviews.csv', '--max-length', '24', '--epochs', '1', '--batch-size', '16', '--grad-accum', '4', '--out', out], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8'));
    expect(results.training.hyperparameters.gradAccum).toBe(4);
    const bad = parry(['train', ...small, '--data', 'reviews.csv', '--dev', 'reviews.csv', '--grad-accum', '0', '--out', path.join(work, 'bad')], work);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(work, 'bad'))).toBe(false);
  });

  it('a run that cannot fit in memory stops up front, naming the --grad-accum that fits; no model is written', () => {
    const out = path.join(work, 'huge');
    const args = ['train', '--model', 'bert', '--hidden', '256', '--layers', '4', '--heads', '4', '--vocab-size', '300', '--text-column', 'review', '--label-column', 'sentiment', '--quiet'];
    const r = parry([...args, '--data', 'long.csv', '--dev', 'long.csv', '--max-length', '512', '--epochs', '1', '--batch-size', '4096', '--out', out], work);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/needs about [\d.]+ GiB .* more than the \w+ backend can hold .*--grad-accum \d+/);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(false);
  });
});
