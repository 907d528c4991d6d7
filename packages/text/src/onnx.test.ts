/**
 * ONNX export parity (issue 17): every family, single- and multi-label, exported in-process and run on ONNX Runtime
 * gives the tfjs model's logits within 1e-4 on padded batches of different lengths (RoBERTa's padding-aware positions,
 * token types, ELECTRA's embedding projection and DistilBERT's sinusoidal table included).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Encoding, initBackend } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { padBatch, disposeBatch } from './batching.js';
import type { ModelFamily } from '@parry/core';
import { smallConfig } from './config.js';
import { createTransformerClassifier } from './encoder.js';
import { predictText } from './inference.js';
import { exportOnnx } from './onnx-export.js';
import { onnxClassifier } from './onnx-runtime.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

function encodings(n: number, seed: number, pairs: boolean): Encoding[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const len = 2 + rng.int(20);
    const ids = Array.from({ length: len }, () => 4 + rng.int(90));
    const cut = pairs ? rng.int(len) : len;
    return { ids, typeIds: ids.map((_, t) => (t < cut ? 0 : 1)) };
  });
}

const FAMILIES: Array<{ family: ModelFamily; extra?: Parameters<typeof smallConfig>[1] }> = [
  { family: 'bert' },
  { family: 'electra', extra: { embeddingSize: 16 } },
  { family: 'distilbert', extra: { sinusoidalPosEmbds: true } },
  { family: 'distilbert' },
  { family: 'roberta' },
  { family: 'bert', extra: { hiddenAct: 'gelu_new' } },
];

describe('ONNX export', () => {
  for (const { family, extra } of FAMILIES) {
    for (const multi of [false, true]) {
      it(`${family}${extra ? ` ${JSON.stringify(extra)}` : ''}, ${multi ? 'multi' : 'single'}-label: ONNX Runtime logits equal tfjs within 1e-4`, async () => {
        const cfg = smallConfig(family, {
          vocabSize: 100,
          hiddenSize: 32,
          numHeads: 4,
          numLayers: 2,
          intermediateSize: 48,
          maxPositions: family === 'roberta' ? 40 : 38,
          ...(multi ? { outputKind: 'multi-label', labelNames: ['a', 'b', 'c'] } : {}),
          ...extra,
        });
        const model = createTransformerClassifier(cfg, { seed: 7 });
        // move every weight well off its initial value: biases and LayerNorm parameters not trivially 0 and 1, attention far from uniform
        tf.tidy(() => model.weights().forEach((p, i) => p.variable.trainable && p.variable.assign(tf.add(p.variable, tf.randomNormal(p.variable.shape, 0, 0.3, 'float32', i)))));
        const set = encodings(11, family.length, family === 'bert' || family === 'electra');
        const onnx = await onnxClassifier(model, { threads: 1 });
        const L = cfg.numLabels;
        // tfjs logits, batch by batch of padded rows
        const pad = cfg.padTokenId;
        const batch = padBatch(set, set.map((_, i) => i), pad, 1);
        const ref = tf.tidy(() => model.logits(batch)).dataSync();
        disposeBatch(batch);
        const got = await onnx.logits(set, pad, 4);
        expect(got.length).toBe(set.length * L);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
        expect(worst).toBeLessThan(1e-4);
        // probabilities as predictText gives them
        const p1 = await predictText(model, set, pad, 4);
        const p2 = await onnx.predict(set, pad, 4);
        for (let i = 0; i < p1.length; i++) expect(Math.abs(p1[i] - p2[i])).toBeLessThan(1e-5);
        await onnx.dispose();
        model.dispose();
      });
    }
  }

  it('the graph has the inputs of its family and a serialized size close to its float32 weights', () => {
    const bert = createTransformerClassifier(smallConfig('bert', { vocabSize: 100, hiddenSize: 32, numLayers: 1 }), { seed: 1 });
    const distil = createTransformerClassifier(smallConfig('distilbert', { vocabSize: 100, hiddenSize: 32, numLayers: 1 }), { seed: 1 });
    const a = exportOnnx(bert);
    expect(a.inputs).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(exportOnnx(distil).inputs).toEqual(['input_ids', 'attention_mask']);
    const weightBytes = bert.weights().reduce((s, p) => s + 4 * p.variable.size, 0);
    expect(a.bytes.length).toBeGreaterThan(weightBytes);
    expect(a.bytes.length).toBeLessThan(weightBytes * 1.1 + 20_000);
    bert.dispose();
    distil.dispose();
  });
});
