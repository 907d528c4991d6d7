#!/usr/bin/env node
/**
 * Measures the peak bytes of one training pass (forward + backward, dropout on) of BERT-style classifiers with
 * `tf.profile`, next to `estimateTrainingMemory` (packages/text/src/memory.ts, whose coefficients are a least-squares
 * fit of this probe's output). Usage, after `pnpm build`:
 *
 *   node packages/text/bench/memory-probe.mjs [wasm|cpu]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';
import { countParameters, createTransformerClassifier, estimateTrainingMemory, padBatch, smallConfig } from '../dist/index.js';

await initBackend({ backend: process.argv[2] ?? 'wasm' });
// hidden, layers, heads, feed-forward, batch, length
const CONFIGS = [
  [64, 1, 2, 256, 8, 32], [64, 2, 2, 256, 8, 64], [64, 3, 2, 256, 8, 64], [128, 1, 2, 512, 8, 32], [128, 1, 2, 512, 8, 64],
  [128, 1, 2, 512, 8, 128], [128, 1, 2, 512, 16, 64], [128, 1, 2, 512, 32, 64], [128, 1, 8, 512, 8, 64], [128, 2, 2, 512, 8, 64],
  [128, 2, 4, 512, 16, 64], [128, 3, 2, 512, 8, 64], [128, 3, 2, 512, 4, 256], [128, 3, 8, 512, 4, 256], [128, 3, 2, 512, 16, 32],
  [128, 4, 2, 512, 8, 64], [256, 1, 4, 1024, 4, 128], [256, 2, 4, 1024, 8, 64], [256, 3, 4, 1024, 8, 64], [384, 2, 6, 1536, 4, 128],
];
const rows = [];
for (const [H, L, heads, I, B, T] of CONFIGS) {
  const cfg = smallConfig('bert', { hiddenSize: H, numLayers: L, numHeads: heads, intermediateSize: I, vocabSize: 2000, maxPositions: 512 });
  const model = createTransformerClassifier(cfg, { seed: 1 });
  const enc = Array.from({ length: B }, (_, i) => ({ ids: Array.from({ length: T }, (_, t) => 5 + ((i * 31 + t * 7) % 1900)), typeIds: new Array(T).fill(0), attentionMask: new Array(T).fill(1) }));
  const batch = padBatch(enc, enc.map((_, i) => i), 0, 1);
  const vars = model.parameters().map((p) => p.variable);
  const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32');
  const before = tf.memory().numBytes;
  const prof = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 2), model.logits(batch, { training: true, seed: 1 })), vars);
    tf.dispose([value, ...Object.values(grads)]);
  });
  const measured = (prof.peakBytes - before) / 2 ** 20;
  const estimated = estimateTrainingMemory(cfg, B, T).stepBytes / 2 ** 20;
  rows.push({ hidden: H, layers: L, heads, batch: B, length: T, parameters: countParameters(cfg), 'measured MiB': measured.toFixed(1), 'estimated MiB': estimated.toFixed(1), error: `${((100 * (estimated - measured)) / measured).toFixed(0)}%` });
  tf.dispose([labels, ...Object.values(batch)]);
  for (const v of vars) v.dispose();
}
console.table(rows);
console.log(`backend ${tf.getBackend()}`);
