/**
 * Parity of the tfjs encoders with an independent PyTorch reference (scripts/make-parity-fixtures.py: torch's
 * nn.TransformerEncoderLayer stacks with HF-named weights), for all four families, on the wasm and cpu backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@parry/core';
import { parseHfConfig } from './config.js';
import { createTransformerClassifier } from './encoder.js';
import { parseSafetensors } from './safetensors.js';
import type { HostTensor, ModelFamily } from '@parry/core';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures/transformers');
const FAMILIES: ModelFamily[] = ['bert', 'electra', 'distilbert', 'roberta'];
const TOLERANCE = 1e-4;

interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  logits: number[][];
}

const present = FAMILIES.every((f) => fs.existsSync(path.join(FIXTURES, f, 'model.safetensors')));
if (!present) console.warn(`parity tests skipped: fixtures missing under ${FIXTURES}; run /usr/bin/python3 scripts/make-parity-fixtures.py`);

function loadFixture(family: ModelFamily) {
  const dir = path.join(FIXTURES, family);
  const config = parseHfConfig(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), `${family}/config.json`);
  const file = path.join(dir, 'model.safetensors');
  const { tensors } = parseSafetensors(new Uint8Array(fs.readFileSync(file)), file);
  const reference = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
  return { config, tensors, reference };
}

/** Logits of the fixture's batch, read back as rows; leaves no tensors behind. */
function runLogits(model: ReturnType<typeof createTransformerClassifier>, ref: Reference): number[][] {
  const batch = {
    inputIds: tf.tensor2d(ref.input_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(ref.attention_mask, undefined, 'int32'),
    tokenTypeIds: tf.tensor2d(ref.token_type_ids, undefined, 'int32'),
  };
  const logits = model.logits(batch);
  const rows = logits.arraySync();
  tf.dispose([logits, batch.inputIds, batch.attentionMask, batch.tokenTypeIds]);
  return rows;
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j]))));
  });
  return m;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe.skipIf(!present)(`parity with the torch reference (${backend})`, () => {
    beforeAll(async () => {
      await initBackend({ backend });
    });

    for (const family of FAMILIES) {
      it(`${family}: logits within ${TOLERANCE}, stateDict round trip`, () => {
        expect(tf.getBackend()).toBe(backend);
        const { config, tensors, reference } = loadFixture(family);
        expect(config.family).toBe(family);
        expect(config.labelNames).toEqual(['negative', 'neutral', 'positive']);
        const before = tf.memory().numTensors;
        const model = createTransformerClassifier(config, { seed: 5 });
        model.loadStateDict(tensors, { source: `${family}/model.safetensors` });
        const withModel = tf.memory().numTensors;

        const logits = runLogits(model, reference);
        const diff = maxAbsDiff(logits, reference.logits);
        console.log(`parity ${backend} ${family}: max |logits - reference| = ${diff.toExponential(2)}`);
        expect(diff).toBeLessThanOrEqual(TOLERANCE);
        expect(tf.memory().numTensors).toBe(withModel);

        // stateDict returns exactly the checkpoint: names, shapes, values.
        const state = model.stateDict();
        expect(Object.keys(state).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors) as Array<[string, HostTensor]>) {
          expect(state[name].shape, name).toEqual(t.shape);
          expect(state[name].dtype, name).toBe('F32');
          expect(Array.from(state[name].data as Float32Array), name).toEqual(Array.from(t.data as Float32Array));
        }
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    if (backend === 'cpu') {
      it('the tolerance is meaningful: a 1% change of one LayerNorm weight moves the logits by more', () => {
        for (const family of FAMILIES) {
          const { config, tensors, reference } = loadFixture(family);
          const name = Object.keys(tensors).find((n) => /layer\.1\..*(output\.LayerNorm|output_layer_norm)\.weight$/.test(n))!;
          const perturbed = { ...tensors, [name]: { ...tensors[name], data: (tensors[name].data as Float32Array).map((v) => v * 1.01) } };
          const model = createTransformerClassifier(config);
          model.loadStateDict(perturbed);
          const diff = maxAbsDiff(runLogits(model, reference), reference.logits);
          model.dispose();
          expect(diff, family).toBeGreaterThan(10 * TOLERANCE);
        }
      });
    }
  });
}
