/**
 * Property-based fuzzer for the model folder validator (issue 14): mutations of a valid saved model — a field of
 * parry.json or model.json replaced by any JSON value or a hostile number (negative, fractional, 2^31, 1e308), a
 * field deleted, a whole file replaced by another JSON value, cut short, or weights.bin resized. Property:
 * `loadModel` either loads a model whose parry.json agrees with the network, or throws one `InputError` line naming a
 * file of the folder; never another error, never a hang, and no tensor is left behind either way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { InputError } from './errors.js';
import { loadModel, saveModel } from './model-io.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-model-fuzz-'));
const saved = path.join(base, 'saved');
const dir = path.join(base, 'm');
let files: Record<'parry.json' | 'model.json', any>;
let weights: Buffer;

beforeAll(async () => {
  await initBackend();
  const m = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] }), tfl.layers.dense({ units: 3, kernelInitializer: 'ones' })] });
  await saveModel(saved, m, { labelNames: ['a', 'b', 'c'] });
  m.dispose();
  files = { 'parry.json': JSON.parse(fs.readFileSync(path.join(saved, 'parry.json'), 'utf8')), 'model.json': JSON.parse(fs.readFileSync(path.join(saved, 'model.json'), 'utf8')) };
  weights = fs.readFileSync(path.join(saved, 'weights.bin'));
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

/** Paths worth hitting (the generic "any path" of a JSON tree rarely reaches a weight's shape). */
const PATHS: Record<'parry.json' | 'model.json', (string | number)[][]> = {
  'parry.json': [['format'], ['version'], ['name'], ['inputShape'], ['inputShape', 0], ['inputShape', 2], ['numClasses'], ['bounds'], ['bounds', 0], ['bounds', 1], ['outputKind'], ['labelNames'], ['labelNames', 1], ['weightsSha256'], ['createdAt'], ['training']],
  'model.json': [['modelTopology'], ['weightsManifest'], ['weightsManifest', 0], ['weightsManifest', 0, 'paths'], ['weightsManifest', 0, 'paths', 0], ['weightsManifest', 0, 'weights'], ['weightsManifest', 0, 'weights', 0], ['weightsManifest', 0, 'weights', 0, 'shape'], ['weightsManifest', 0, 'weights', 0, 'shape', 0], ['weightsManifest', 0, 'weights', 0, 'shape', 1], ['weightsManifest', 0, 'weights', 1, 'dtype'], ['weightsManifest', 0, 'weights', 1, 'name'], ['weightsManifest', 0, 'weights', 1, 'shape', 0]],
};
const HOSTILE = fc.constantFrom<unknown>(-1, 0, 0.5, 1, 3, 4, 2 ** 31, 2 ** 53, 1e308, -1e308, '', 'a', 'float64', 'uint8', null, [], {}, [0, 1], [1, 0], ['a', 'b'], [2, 2, 1], [4, 3], [2 ** 31, 2 ** 31]);
const FILE = fc.constantFrom<'parry.json' | 'model.json'>('parry.json', 'model.json');

type Mutation =
  | { kind: 'set'; file: 'parry.json' | 'model.json'; at: number; value: unknown }
  | { kind: 'delete'; file: 'parry.json' | 'model.json'; at: number }
  | { kind: 'replace'; file: 'parry.json' | 'model.json'; value: unknown }
  | { kind: 'cut'; file: 'parry.json' | 'model.json'; at: number }
  | { kind: 'weights'; bytes: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), file: FILE, at: fc.nat(), value: fc.oneof(HOSTILE, fc.jsonValue({ maxDepth: 2 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), file: FILE, at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), file: FILE, value: fc.jsonValue({ maxDepth: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), file: FILE, at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('weights' as const), bytes: fc.integer({ min: -8, max: 8 }) }) },
);

function apply(muts: Mutation[]): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const json = structuredClone(files);
  const text: Partial<Record<'parry.json' | 'model.json', string>> = {};
  let bin = weights;
  for (const m of muts) {
    if (m.kind === 'weights') {
      bin = m.bytes < 0 ? bin.subarray(0, Math.max(0, bin.length + m.bytes)) : Buffer.concat([bin, Buffer.alloc(m.bytes)]);
    } else if (m.kind === 'replace') {
      json[m.file] = m.value;
    } else if (m.kind === 'cut') {
      text[m.file] = JSON.stringify(json[m.file]).slice(0, m.at % Math.max(1, JSON.stringify(json[m.file]).length));
    } else {
      const p = PATHS[m.file][m.at % PATHS[m.file].length];
      let o: any = json[m.file];
      for (const k of p.slice(0, -1)) o = o && typeof o === 'object' ? o[k] : undefined;
      if (o && typeof o === 'object') {
        if (m.kind === 'delete') delete o[p[p.length - 1]];
        else o[p[p.length - 1]] = m.value;
      }
    }
  }
  for (const f of ['parry.json', 'model.json'] as const) fs.writeFileSync(path.join(dir, f), text[f] ?? JSON.stringify(json[f]) ?? 'null');
  fs.writeFileSync(path.join(dir, 'weights.bin'), bin);
}

describe('model folder fuzzer (issue 14)', () => {
  it('3,000 mutated model folders: each loads consistently or is refused with one InputError line naming its file', async () => {
    const before = tf.memory().numTensors;
    let loaded = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (muts) => {
        apply(muts);
        let result: Awaited<ReturnType<typeof loadModel>> | undefined;
        try {
          result = await loadModel(dir);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          expect(e.message).not.toContain('\n');
          expect(e.message).toMatch(/parry\.json|model\.json|weights\.bin|could not be built/);
        }
        if (result) {
          loaded++;
          const { meta, classifier, layersModel } = result;
          expect(meta.inputShape).toEqual(classifier.inputShape);
          expect(meta.numClasses).toBe(classifier.numClasses);
          expect(meta.bounds[0]).toBeLessThan(meta.bounds[1]);
          layersModel.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 3000, seed: 14 },
    );
    expect(loaded).toBeGreaterThan(0); // the harmless mutations still load
  }, 180_000);
});
