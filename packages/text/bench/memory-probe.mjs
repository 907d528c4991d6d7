#!/usr/bin/env node
/**
 * Measures the peak bytes of one training pass (forward + backward, dropout on) of BERT-style classifiers, with and
 * without per-layer recomputation (`model.recompute`), next to `estimateTrainingMemory` (packages/text/src/memory.ts,
 * whose coefficients are a least-squares fit of this probe's output, printed at the end). Bytes are counted per
 * tensor buffer, as the backend holds them: `tf.memory()` / `tf.profile` count a buffer once per tensor sharing it
 * (a clone, a reshape), which overstates the memory since the wasm Identity polyfill shares buffers. Usage, after
 * `pnpm build`:
 *
 *   node packages/text/bench/memory-probe.mjs [wasm|cpu]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';
import { countParameters, createTransformerClassifier, estimateTrainingMemory, padBatch, smallConfig } from '../dist/index.js';

await initBackend({ backend: process.argv[2] ?? 'wasm' });

// live bytes per buffer and their peak
const engine = tf.engine();
const live = new Map();
let bytes = 0;
let peak = 0;
const track = engine.trackTensor.bind(engine);
engine.trackTensor = (a, backend) => {
  const had = engine.state.tensorInfo.has(a.dataId);
  track(a, backend);
  if (!had && a.dtype !== 'string') {
    live.set(a.dataId, a.size * 4);
    bytes += a.size * 4;
    if (bytes > peak) peak = bytes;
  }
};
const remove = engine.removeDataId.bind(engine);
engine.removeDataId = (dataId, backend) => {
  if (live.has(dataId) && engine.state.tensorInfo.get(dataId)?.backend === backend) {
    bytes -= live.get(dataId);
    live.delete(dataId);
  }
  remove(dataId, backend);
};

// hidden, layers, heads, feed-forward, batch, length
const CONFIGS = [
  [64, 1, 2, 256, 8, 32], [64, 2, 2, 256, 8, 64], [64, 3, 2, 256, 8, 64], [128, 1, 2, 512, 8, 32], [128, 1, 2, 512, 8, 64],
  [128, 1, 2, 512, 8, 128], [128, 1, 2, 512, 16, 64], [128, 1, 2, 512, 32, 64], [128, 1, 8, 512, 8, 64], [128, 2, 2, 512, 8, 64],
  [128, 2, 4, 512, 16, 64], [128, 3, 2, 512, 8, 64], [128, 3, 2, 512, 4, 256], [128, 3, 8, 512, 4, 256], [128, 3, 2, 512, 16, 32],
  [128, 4, 2, 512, 8, 64], [256, 1, 4, 1024, 4, 128], [256, 2, 4, 1024, 8, 64], [256, 3, 4, 1024, 8, 64], [384, 2, 6, 1536, 4, 128],
  [256, 6, 4, 1024, 4, 128], [384, 4, 6, 1536, 2, 128],
];
const rows = [];
const samples = { plain: [], recompute: [] };
for (const [H, L, heads, I, B, T] of CONFIGS) {
  const cfg = smallConfig('bert', { hiddenSize: H, numLayers: L, numHeads: heads, intermediateSize: I, vocabSize: 2000, maxPositions: 512 });
  const model = createTransformerClassifier(cfg, { seed: 1 });
  const enc = Array.from({ length: B }, (_, i) => ({ ids: Array.from({ length: T }, (_, t) => 5 + ((i * 31 + t * 7) % 1900)), typeIds: new Array(T).fill(0), attentionMask: new Array(T).fill(1) }));
  const batch = padBatch(enc, enc.map((_, i) => i), 0, 1);
  const vars = model.parameters().map((p) => p.variable);
  const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32');
  const row = { hidden: H, layers: L, heads, batch: B, length: T, parameters: countParameters(cfg) };
  for (const mode of ['plain', 'recompute']) {
    model.recompute = mode === 'recompute';
    const before = bytes;
    peak = bytes;
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 2), model.logits(batch, { training: true, seed: 1 })), vars);
    tf.dispose([value, ...Object.values(grads)]);
    const measured = peak - before;
    const estimated = estimateTrainingMemory(cfg, B, T, false, mode === 'recompute').passBytes;
    samples[mode].push({ cfg, B, T, measured });
    row[`${mode} MiB`] = (measured / 2 ** 20).toFixed(1);
    row[`${mode} est.`] = `${((100 * (estimated - measured)) / measured).toFixed(0)}%`;
  }
  rows.push(row);
  tf.dispose([labels, ...Object.values(batch)]);
  for (const v of vars) v.dispose();
}
console.table(rows);
console.log(`backend ${tf.getBackend()}`);

// least-squares fit (in float32 values) of the terms memory.ts uses, the gradients (1 x parameters) fixed
const terms = {
  plain: ({ cfg, B, T }) => {
    const L1 = Math.max(0, cfg.numLayers - 1);
    return [L1 * B * T * cfg.hiddenSize, L1 * B * cfg.numHeads * T * T, B * T * cfg.hiddenSize, B * cfg.numHeads * T];
  },
  recompute: ({ cfg, B, T }) => {
    const full = cfg.numLayers > 1 ? 1 : 0;
    return [cfg.numLayers * B * T * cfg.hiddenSize, full * B * cfg.numHeads * T * T, full * B * T * cfg.hiddenSize, B * T * cfg.hiddenSize];
  },
};
for (const mode of ['plain', 'recompute']) {
  // relative least squares: each row divided by its measurement, so small and large configs weigh alike
  const X = samples[mode].map((s) => terms[mode](s).map((v) => v / (s.measured / 4)));
  const y = samples[mode].map((s) => (s.measured / 4 - countParameters(s.cfg)) / (s.measured / 4));
  const k = X[0].length;
  const A = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => X.reduce((a, r) => a + r[i] * r[j], 0)));
  const b = Array.from({ length: k }, (_, i) => X.reduce((a, r, n) => a + r[i] * y[n], 0));
  for (let i = 0; i < k; i++) {
    for (let r = i + 1; r < k; r++) {
      const f = A[r][i] / A[i][i];
      for (let c = i; c < k; c++) A[r][c] -= f * A[i][c];
      b[r] -= f * b[i];
    }
  }
  const coef = new Array(k).fill(0);
  for (let i = k - 1; i >= 0; i--) coef[i] = (b[i] - A[i].slice(i + 1).reduce((a, v, j) => a + v * coef[i + 1 + j], 0)) / A[i][i];
  const errs = samples[mode].map((s) => ((countParameters(s.cfg) + terms[mode](s).reduce((a, v, i) => a + v * coef[i], 0)) * 4) / s.measured - 1);
  console.log(`${mode} fit (parameters +): ${coef.map((c) => c.toFixed(2)).join(', ')}; error ${(100 * Math.min(...errs)).toFixed(0)}% to ${(100 * Math.max(...errs)).toFixed(0)}%`);
}
