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
  version: 1,
  kind: 'eval',
  createdAt: '2026-11-22T00:00:00.000Z',
  command: ['parry', 'eval', '--attack', 'fgsm'],
  seed: 0,
  environment: { backend: { name: 'wasm', threads: 2 }, node: '20.19.0' },
  dataset: { name: 'mnist', source: 'embedded', split: 'test', n: 2 },
  model: { name: 'cnn', inputShape: [2, 2, 1], numClasses: 10, bounds: [0, 1], labelNames: ['0', '1'] },
  clean: { accuracy: 1, n: 2 },
  attacks: [
    {
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
      textExamples: [{ index: 0, label: 'pos', prediction: 'pos', original: 'a good film', perEpsilon: [{ epsilon: null, adversarial: 'a gud film', prediction: 'neg', success: true }] }],
    },
  ],
  training: { hyperparameters: { lr: 0.001 }, epochs: [{ epoch: 1, loss: 0.3, testAccuracy: 0.9, seconds: 1 }] },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
/** Every path into a JSON value (containers and leaves), root excluded. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...prefix, k], ...paths((v as Record<string | number, Json>)[k], [...prefix, k])]);
}
const ALL_PATHS = paths(valid as unknown as Json);

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

function apply(obj: Record<string, unknown>, m: fc.Arbitrary<unknown> extends never ? never : any): void {
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
  let accepted = 0;
  it('readResults: 3,000 mutated results files are read consistently or refused with one InputError line naming the file', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 0, maxLength: 3 }), textEdit, (mutations, edit) => {
        const obj = structuredClone(valid) as Record<string, unknown>;
        for (const m of mutations) apply(obj, m);
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
        // Consistent with the file: the result validates again and keeps what the file said.
        const parsed = JSON.parse(bytes.toString('utf8'));
        expect(validateResults(JSON.parse(JSON.stringify(r)), 'again')).toEqual(r);
        expect(r.schema).toBe('parry-results');
        expect(r.version).toBe(1);
        expect(r.dataset).toEqual(parsed.dataset);
        expect(r.attacks.length).toBe(parsed.attacks?.length ?? 0);
        for (const a of r.attacks) {
          for (const ex of a.examples ?? []) {
            const need = ex.shape.reduce((p, d) => p * d, 1);
            expect(Buffer.from(ex.original, 'base64').length).toBe(need);
          }
        }
      }),
      { numRuns: 3000, seed: 14 },
    );
    expect(n).toBe(3000);
    expect(accepted).toBeGreaterThan(100);
  }, 60_000);
});
