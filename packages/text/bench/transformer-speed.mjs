#!/usr/bin/env node
/**
 * One Parry measurement of Transformer speed, printed as one JSON line (the driver, transformer-vs-torch.mjs, runs it
 * in a fresh process per engine and thread count, alternating with PyTorch):
 *
 *   node packages/text/bench/transformer-speed.mjs --engine tfjs|onnx --threads 1|2 --shape base|small --work forward|step [--reps 3]
 *
 * Shapes: `base` = BERT-base (12 x 768, 12 heads, feed-forward 3072, vocabulary 30,522), batch 8 x 128 tokens;
 * `small` = 2 x 128 (2 heads, feed-forward 512, vocabulary 8,000), batch 32 x 64. Random weights (speed does not
 * depend on them), random token ids, no padding. `forward`: inference logits (tfjs: `model.logits` on the wasm
 * backend; onnx: the same model exported in-process and run on ONNX Runtime). `step`: loss, gradients and an AdamW
 * step through `trainText` (tfjs only: ONNX Runtime does no training); `base` steps go by gradient accumulation, 4
 * micro-batches of 2, with the per-layer recomputation trainText turns on for it (without it BERT-base does not fit
 * the wasm heap). Median of `reps` after one warm-up.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';
import { createTransformerClassifier, onnxClassifier, padBatch, disposeBatch, smallConfig } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const engine = arg('engine', 'tfjs');
const threads = Number(arg('threads', '1'));
const shape = arg('shape', 'small');
const work = arg('work', 'forward');
const reps = Number(arg('reps', '3'));

const SHAPES = {
  base: { cfg: { vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512 }, batch: 8, length: 128, accum: 4 },
  small: { cfg: { vocabSize: 8000, hiddenSize: 128, numLayers: 2, numHeads: 2, intermediateSize: 512, maxPositions: 128 }, batch: 32, length: 64, accum: 1 },
};
const s = SHAPES[shape];
const info = await initBackend({ backend: 'wasm', threads: engine === 'tfjs' ? threads : 1 });
const model = createTransformerClassifier(smallConfig('bert', s.cfg), { seed: 0 });
let state = 1;
const rand = (n) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), 5 + (state >>> 8) % (n - 5));
const n = work === 'step' && s.stepBatch ? s.stepBatch : s.batch;
const encodings = Array.from({ length: n }, () => {
  const ids = Array.from({ length: s.length }, () => rand(s.cfg.vocabSize));
  return { ids, typeIds: new Array(s.length).fill(0) };
});

const times = [];
if (work === 'forward') {
  if (engine === 'onnx') {
    const onnx = await onnxClassifier(model, { threads });
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      await onnx.logits(encodings, 0, s.batch);
      if (r > 0) times.push((performance.now() - t0) / 1000);
    }
    await onnx.dispose();
  } else {
    const batch = padBatch(encodings, encodings.map((_, i) => i), 0, 1);
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      const z = tf.tidy(() => model.logits(batch));
      await z.data();
      z.dispose();
      if (r > 0) times.push((performance.now() - t0) / 1000);
    }
    disposeBatch(batch);
  }
} else {
  if (engine !== 'tfjs') throw new Error('step runs on tfjs only');
  const { trainText } = await import('../../defenses/dist/index.js');
  const labels = Int32Array.from(encodings, (_, i) => i % 2);
  // one epoch = one optimizer step over the batch; warm-up + reps epochs, timed per epoch
  await trainText(model, { encodings, labels }, {
    epochs: reps + 1,
    batchSize: n,
    learningRate: 1e-5,
    seed: 0,
    padId: 0,
    gradAccum: s.accum,
    onEpoch: (rec) => {
      if (rec.epoch > 1) times.push(rec.trainSeconds);
    },
  });
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
process.stdout.write(
  `${JSON.stringify({ engine, threads: engine === 'tfjs' ? info.threads : threads, shape, work, batch: n, length: s.length, accum: work === 'step' ? s.accum : undefined, median, times, load: os.loadavg() })}\n`,
);
model.dispose();
process.exit(0);
