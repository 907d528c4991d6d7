/**
 * `parry train --layer-lr-decay` (issue 15): listed in --help, a value outside (0, 1] or a use without --model is
 * refused in one line (exit 2, nothing written), and a run records the decay in its hyperparameters only when on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry, toyReviewsCsv } from './test-support.js';

describe('parry train --layer-lr-decay', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-llrd-'));
    fs.writeFileSync(path.join(work, 'reviews.csv'), toyReviewsCsv(60, 5));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const small = ['--model', 'bert', '--hidden', '32', '--layers', '2', '--heads', '2', '--vocab-size', '200', '--text-column', 'review', '--label-column', 'sentiment', '--max-length', '24', '--epochs', '1', '--batch-size', '16', '--quiet'];

  it('--help lists it', () => {
    const r = parry(['train', '--help'], work);
    expect(r.code).toBe(0);
    // commander wraps the description: compare with runs of whitespace folded
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/--layer-lr-decay <x> text: multiply the learning rate by x per layer from the top down \(layer-wise learning-rate decay, for fine-tuning a pre-trained encoder; default 1 = off\)/);
  });

  it('a value outside (0, 1], or the flag without --model, is refused in one line naming it; nothing is written', () => {
    for (const [value, withModel] of [['1.5', true], ['0', true], ['abc', true], ['0.9', false]] as const) {
      const out = path.join(work, `bad-${value}`);
      const args = withModel ? ['train', ...small, '--data', 'reviews.csv', '--dev', 'reviews.csv'] : ['train', '--epochs', '1'];
      const r = parry([...args, '--layer-lr-decay', value, '--out', out], work);
      expect(r.code, `${value}: ${r.stderr}`).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/--layer-lr-decay/);
      if (withModel) expect(lines[0]).toMatch(/must be a number in \(0, 1\]/);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('a run records the decay among its hyperparameters; a run without it does not', () => {
    for (const decay of ['0.8', undefined]) {
      const out = path.join(work, `m-${decay ?? 'off'}`);
      const r = parry(['train', ...small, '--data', 'reviews.csv', '--dev', 'reviews.csv', ...(decay ? ['--layer-lr-decay', decay] : []), '--out', out], work);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const hp = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8')).training.hyperparameters;
      if (decay) expect(hp.layerLrDecay).toBe(0.8);
      else expect('layerLrDecay' in hp).toBe(false);
    }
  });
});
