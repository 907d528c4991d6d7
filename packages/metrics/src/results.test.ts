import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '@parry/core';
import { describe, expect, it } from 'vitest';
import { readResults, validateResults, writeResults, type ResultsInput } from './results.js';

const good: ResultsInput = {
  schema: 'parry-results',
  version: 1,
  kind: 'eval',
  createdAt: '2026-11-22T00:00:00.000Z',
  command: ['parry', 'eval'],
  seed: 0,
  environment: { backend: { name: 'wasm' } },
  dataset: { name: 'mnist', source: 'test', split: 'test', n: 2 },
  model: { name: 'm', inputShape: [28, 28, 1], numClasses: 10, bounds: [0, 1] },
  clean: { accuracy: 1, n: 2 },
  attacks: [
    {
      attack: 'parry/fgsm',
      norm: 'linf',
      options: {},
      cleanAccuracy: 1,
      n: 2,
      perEpsilon: [{ epsilon: 0.1, robustAccuracy: 0.5, attackSuccessRate: 0.5, linf: { mean: 0.1, max: 0.1, count: 1 }, l2: null }],
      wallTimeMs: 1,
      gradientEvaluations: 2,
      forwardEvaluations: 2,
    },
  ],
};

describe('results files', () => {
  it('accept a valid object and round-trip through an atomic write', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-'));
    const file = path.join(dir, 'sub', 'results.json');
    writeResults(file, good);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['results.json']);
    expect(readResults(file).attacks[0].attack).toBe('parry/fgsm');
  });

  it('reject broken files with the reason', () => {
    expect(() => validateResults({ ...good, version: 7 }, 'x.json')).toThrow(/x\.json has results version 7; this Parry reads version 1/);
    expect(() => validateResults({ ...good, seed: 'zero' }, 'x.json')).toThrow(/x\.json is not a valid Parry results file: seed:/);
    const badRate = structuredClone(good) as any;
    badRate.attacks[0].perEpsilon[0].robustAccuracy = 1.5;
    expect(() => validateResults(badRate, 'x.json')).toThrow(/attacks\.0\.perEpsilon\.0\.robustAccuracy/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-'));
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"schema": "parry-res');
    expect(() => readResults(path.join(dir, 'broken.json'))).toThrow(InputError);
    expect(() => readResults(path.join(dir, 'missing.json'))).toThrow(/not found/);
  });

  it('write nothing when the object is invalid', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-'));
    expect(() => writeResults(path.join(dir, 'r.json'), { ...good, kind: 'nope' } as any)).toThrow(InputError);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
