import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RESULTS_JSON_SCHEMA_PATH, RESULTS_VERSION, resultsJsonSchema, validateResults, type ResultsInput } from './results.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, RESULTS_JSON_SCHEMA_PATH);

const base: ResultsInput = {
  schema: 'parry-results',
  version: 2,
  kind: 'eval',
  createdAt: '2026-11-22T00:00:00.000Z',
  command: [],
  seed: 0,
  environment: {},
  dataset: { name: 'd', source: 's', split: 'test', n: 1 },
  model: { modality: 'image', name: 'm', inputShape: [2, 2, 1], numClasses: 2, bounds: [0, 1] },
  attacks: [],
};

describe('the committed JSON Schema', () => {
  it(`equals the one generated from the zod schema (regenerate with PARRY_UPDATE_SCHEMA=1 pnpm --filter @parry/metrics test)`, () => {
    const generated = `${JSON.stringify(resultsJsonSchema(), null, 2)}\n`;
    if (process.env.PARRY_UPDATE_SCHEMA === '1') fs.writeFileSync(file, generated);
    expect(fs.existsSync(file), `${RESULTS_JSON_SCHEMA_PATH} is missing`).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(generated);
    expect(RESULTS_JSON_SCHEMA_PATH).toBe(`schema/results.v${RESULTS_VERSION}.schema.json`);
  });

  it('describes the optional report fields', () => {
    const s = JSON.stringify(resultsJsonSchema());
    for (const key of ['examples', 'perLabel', 'sizes', 'labelNames', 'modality', 'successBits', 'changed', 'perturbed', 'truncation', 'visibleWordShare']) expect(s).toContain(`"${key}"`);
  });

  it('keeps a text model\'s truncation counts and refuses a malformed one', () => {
    const model = { modality: 'text' as const, name: 't', numLabels: 2, labelNames: ['a', 'b'], outputKind: 'single-label' as const };
    const truncation = {
      strategy: 'head+tail' as const,
      maxLength: 128,
      splits: [{ split: 'train', n: 10, truncated: 4, words: 1000, visibleWords: 510, visibleWordShare: 0.51 }],
    };
    expect(validateResults({ ...base, model, truncation }).truncation).toEqual(truncation);
    expect(() => validateResults({ ...base, model, truncation: { ...truncation, strategy: 'middle' } } as never)).toThrow(/truncation\.strategy/);
    expect(() => validateResults({ ...base, model, truncation: { ...truncation, splits: [{ ...truncation.splits[0], visibleWordShare: 2 }] } })).toThrow(/truncation\.splits\.0\.visibleWordShare/);
  });
});

describe('optional report fields', () => {
  it('accept image and multi-label records and keep them through validation', () => {
    const r = validateResults({
      ...base,
      perLabel: [{ label: 'joy', support: 3, accuracy: 0.9, f1: 0.5 }],
      attacks: [
        {
          modality: 'image', attack: 'a', norm: 'linf', options: {}, cleanAccuracy: 1, n: 1, wallTimeMs: 1, gradientEvaluations: 0, forwardEvaluations: 0,
          perEpsilon: [{ epsilon: 0.1, robustAccuracy: 0, attackSuccessRate: 1, linf: null, l2: null, sizes: { linf: [0.1], l2: [0.2] }, perLabel: [{ label: 'joy', robustAccuracy: 0.5, flipRate: 0.5 }] }],
          examples: [{ index: 0, shape: [2, 2, 1], label: 1, prediction: 1, original: 'AAAAAA==', perEpsilon: [{ epsilon: 0.1, adversarial: 'AQEBAQ==', prediction: 0, success: true }] }],
        },
      ],
    });
    expect(r.perLabel?.[0].label).toBe('joy');
    const a = r.attacks[0];
    if (a.modality !== 'image') throw new Error('expected an image attack');
    expect(a.examples?.[0].perEpsilon[0].success).toBe(true);
    expect(a.perEpsilon[0].sizes?.l2).toEqual([0.2]);
  });

  it('reject a malformed example with the field path', () => {
    const bad = {
      ...base,
      attacks: [{ modality: 'image', attack: 'a', norm: 'linf', options: {}, cleanAccuracy: 1, n: 1, wallTimeMs: 1, gradientEvaluations: 0, forwardEvaluations: 0, perEpsilon: [], examples: [{ index: 0, shape: [2], label: 1, prediction: 1, original: '', perEpsilon: [] }] }],
    };
    expect(() => validateResults(bad, 'r.json')).toThrow(/r\.json is not a valid Parry results file: attacks\.0\.examples\.0\.shape/);
  });
});
