/**
 * Property-based fuzzer for reading results.json (issue 14): mutations of a valid results file (a field replaced by
 * any JSON value or a hostile number/string, a field deleted, the version changed, image bytes resized, the text cut,
 * a byte flipped or invalid UTF-8 spliced in). Property: `readResults` either returns results consistent with the
 * file (they validate again and keep its dataset and attacks), or throws one `InputError` line naming the file and
 * the problem (a field path for schema errors); never another error, never a hang, never a stack overflow.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '@parry/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readResults, validateResults, type ResultsInput } from './results.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-fuzz-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const px = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed) & 0xff)).toString('base64');
const valid: ResultsInput = {
  schema: 'parry-results',
  version: 2,
  kind: 'eval',
  createdAt: '2026-11-22T00:00:00.000Z',
  command: ['parry', 'eval', '--attack', 'fgsm'],
  seed: 0,
  environment: { backend: { name: 'wasm', threads: 2 }, node: '20.19.0' },
  dataset: { name: 'mnist', source: 'embedded', split: 'test', n: 2 },
  model: { modality: 'image', name: 'cnn', inputShape: [2, 2, 1], numClasses: 10, bounds: [0, 1], labelNames: ['0', '1'] },
  clean: { accuracy: 1, n: 2 },
  attacks: [
    {
      modality: 'image',
      attack: 'parry/fgsm',
      norm: 'linf',
      options: { eps: 0.1 },
      cleanAccuracy: 1,
      n: 2,
      perEpsilon: [{ epsilon: 0.1, robustAccuracy: 0.5, attackSuccessRate: 0.5, linf: { mean: 0.1, max: 0.1, count: 1 }, l2: null, sizes: { linf: [0.1], l2: [0.2] } }],
      wallTimeMs: 1,
      gradientEvaluations: 2,
      forwardEvaluations: 2,
      successBits: ['01'],
      examples: [{ index: 0, shape: [2, 2, 1], label: 1, prediction: 1, original: px(4, 3), perEpsilon: [{ epsilon: 0.1, adversarial: px(4, 5), prediction: 2, success: true }] }],
    },
  ],
  training: { hyperparameters: { lr: 0.001 }, epochs: [{ epoch: 1, loss: 0.3, testAccuracy: 0.9, seconds: 1 }] },
};

const validText: ResultsInput = {
  schema: 'parry-results',
  version: 2,
  kind: 'eval',
  createdAt: '2026-11-22T00:00:00.000Z',
  command: ['parry', 'text-attack'],
  seed: 0,
  environment: {},
  dataset: { name: 'goemotions', source: 'x.tsv', split: 'test', n: 3 },
  model: { modality: 'text', name: 'bert', numLabels: 2, labelNames: ['joy', 'anger'], outputKind: 'multi-label', maxLength: 64 },
  attacks: [
    {
      modality: 'text', attack: 'parry/textfooler', goal: { kind: 'flip-any-gold' }, options: { maxCandidates: 50 }, n: 3,
      cleanAccuracy: 2 / 3, robustAccuracy: 1 / 3, attackSuccessRate: 0.5, successful: 1, failed: 1, skipped: 1, budgetExhausted: 1, queryBudget: 100,
      avgPerturbedWordPct: 25, avgWordsPerInput: 4, avgQueries: 30, totalQueries: 61, queriesPerSecond: 600, gradientCalls: 0, wallTimeMs: 100, notes: ['n'],
      perLabel: [{ label: 'joy', flipRate: 0.5 }, { label: 'anger', flipRate: 0 }], microF1Before: 0.8, microF1After: 0.4, successBits: '100',
      examples: [{ index: 0, label: 'joy', prediction: 'joy', original: 'so happy now', perturbed: 'so glad now', perturbedPrediction: '(none)', status: 'successful', changed: [{ start: 3, end: 8, before: 'happy', after: 'glad' }] }],
    },
  ],
};

/** A version 1 file as `parry text-attack` wrote it: dummy image fields, sigmoid, the TextAttack summary on the side. */
const validV1 = {
  schema: 'parry-results',
  version: 1,
  kind: 'eval',
  createdAt: '2026-11-22T00:00:00.000Z',
  command: ['parry', 'text-attack'],
  seed: 0,
  environment: {},
  dataset: { name: 'goemotions', source: 'x.tsv', split: 'test', n: 2 },
  model: { path: 'm', name: 'm', inputShape: [], numClasses: 2, bounds: [0, 0], labelNames: ['joy', 'anger'], outputKind: 'sigmoid' },
  attacks: [
    {
      attack: 'parry/pwws', norm: 'words', options: { queryBudget: null }, cleanAccuracy: 1, n: 2,
      perEpsilon: [{ epsilon: null, robustAccuracy: 0.5, attackSuccessRate: 0.5, linf: null, l2: null, perLabel: [{ label: 'joy', flipRate: 0.5, robustAccuracy: 0.5 }] }],
      wallTimeMs: 5, gradientEvaluations: 0, forwardEvaluations: 20, successBits: ['10'],
      textExamples: [{ index: 0, label: 'joy', prediction: 'joy', original: 'a good day', perEpsilon: [{ epsilon: null, adversarial: 'a fine day', prediction: '(none)', success: true }] }],
      textSummary: {
        successful: 1, failed: 1, skipped: 0, budgetExhausted: 0, originalAccuracy: 1, accuracyUnderAttack: 0.5, attackSuccessRate: 0.5,
        avgPerturbedWordPct: 33.3, avgWordsPerInput: 3, avgQueries: 10, totalQueries: 20, queriesPerSecond: 4000, notes: [], microF1Before: 1, microF1After: 0.5,
      },
    },
  ],
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
/** Every path into a JSON value (containers and leaves), root excluded. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...prefix, k], ...paths((v as Record<string | number, Json>)[k], [...prefix, k])]);
}

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(-1, 1.5, 1e308, -1e308, 2 ** 53 + 2, 0, '', 'NaN', [], {}, null, true, '\u202egnp.exe', [[[[[[]]]]]], { __proto__: { polluted: 1 } }),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: hostileValue }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('version' as const), version: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant(1.5)) }),
  fc.record({ kind: fc.constant('pixels' as const), n: fc.integer({ min: 0, max: 9 }), shape: fc.array(fc.integer({ min: -1, max: 5 }), { minLength: 0, maxLength: 4 }) }),
);
const textEdit = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nest' as const), depth: fc.integer({ min: 1000, max: 50_000 }) }) },
);

function apply(obj: Record<string, unknown>, m: fc.Arbitrary<unknown> extends never ? never : any, ALL_PATHS: (string | number)[][]): void {
  if (m.kind === 'version') obj.version = m.version;
  else if (m.kind === 'pixels') {
    const ex = (obj.attacks as any)?.[0]?.examples?.[0];
    if (ex && typeof ex === 'object') {
      ex.original = px(m.n, 7);
      if (m.shape.length) ex.shape = m.shape;
    }
  } else {
    const p = ALL_PATHS[m.at % ALL_PATHS.length];
    let parent: any = obj;
    for (const k of p.slice(0, -1)) {
      if (parent === null || typeof parent !== 'object') return;
      parent = parent[k];
    }
    if (parent === null || typeof parent !== 'object') return;
    const last = p[p.length - 1];
    if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else parent[last] = m.value;
  }
}

describe('results.json fuzzer (issue 14)', () => {
  let n = 0;
  const cases = [
    { name: 'a version 2 image file', base: valid, runs: 2000, seed: 14 },
    { name: 'a version 2 text file', base: validText, runs: 1000, seed: 15 },
    { name: 'a version 1 text file (migrated)', base: validV1, runs: 1000, seed: 16 },
  ];
  for (const c of cases) {
    it(`readResults: ${c.runs} mutations of ${c.name} are read consistently or refused with one InputError line naming the file`, () => {
      const ALL_PATHS = paths(c.base as unknown as Json);
      let runs = 0;
      let accepted = 0;
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 0, maxLength: 3 }), textEdit, (mutations, edit) => {
          runs++;
          const obj = structuredClone(c.base) as Record<string, unknown>;
          for (const m of mutations) apply(obj, m, ALL_PATHS);
          let bytes = Buffer.from(JSON.stringify(obj, null, 2));
          if (edit.kind === 'cut') bytes = bytes.subarray(0, edit.at % bytes.length);
          if (edit.kind === 'byte') bytes[edit.at % bytes.length] = edit.byte;
          if (edit.kind === 'nest') bytes = Buffer.from(`${'['.repeat(edit.depth)}${']'.repeat(edit.depth)}`);
          const file = path.join(dir, `r${n++ % 50}.json`);
          fs.writeFileSync(file, bytes);
          let r;
          try {
            r = readResults(file);
          } catch (e) {
            if (!(e instanceof InputError)) throw e;
            const msg = e.message;
            expect(msg.startsWith(`results file ${file} `)).toBe(true);
            expect(msg).not.toContain('\n');
            expect(msg).not.toMatch(/\n\s+at /);
            return;
          }
          accepted++;
          // Consistent with the file: the result validates again (as version 2) and keeps what the file said.
          const parsed = JSON.parse(bytes.toString('utf8'));
          expect(validateResults(JSON.parse(JSON.stringify(r)), 'again')).toEqual(r);
          expect(r.schema).toBe('parry-results');
          expect(r.version).toBe(2);
          expect(r.dataset).toEqual(parsed.dataset);
          expect(r.attacks.length).toBe(parsed.attacks?.length ?? 0);
          for (const a of r.attacks) {
            expect(a.modality).toBe(r.model.modality);
            if (a.modality === 'text') {
              expect(a.successBits.length).toBe(a.n);
              continue;
            }
            for (const ex of a.examples ?? []) {
              const need = ex.shape.reduce((p, d) => p * d, 1);
              expect(Buffer.from(ex.original, 'base64').length).toBe(need);
            }
          }
        }),
        { numRuns: c.runs, seed: c.seed },
      );
      expect(runs).toBe(c.runs);
      expect(accepted).toBeGreaterThan(c.runs / 30);
    }, 60_000);
  }
});
