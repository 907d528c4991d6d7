#!/usr/bin/env node
/**
 * One (or a few) BERT-base training steps on the tfjs wasm backend through `trainText`, by gradient accumulation:
 * BERT-base (12 x 768, 12 heads, feed-forward 3072, vocabulary 30,522), optimizer batch 8 x 128 tokens, cut into
 * `--accum` micro-batches; AdamW, gradient clipping at 1, dropout 0.1, random weights and token ids. Prints one JSON
 * line: the time of every optimizer step, the peak bytes of live tensor buffers (counted per buffer, as the backend
 * holds them), the wasm heap's size at the end (the heap never shrinks, so it is the high-water mark with the
 * allocator's fragmentation), the memory estimate, and the load average. Usage, after `pnpm build`:
 *
 *   node packages/text/bench/bert-base-step.mjs [--accum 8] [--batch 8] [--length 128] [--steps 1] [--threads 1]
 *                                               [--recompute on|off|auto] [--no-check]
 *                                               [--polyfills MODULE] [--text MODULE]
 *
 * The PyTorch counterpart: `python3 scripts/bench-torch-transformer.py --shape base --work step` (whole batch).
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const accum = Number(arg('accum', '8'));
const batchSize = Number(arg('batch', '8'));
const length = Number(arg('length', '128'));
const steps = Number(arg('steps', '1'));
const threads = Number(arg('threads', '1'));
const recompute = arg('recompute', 'auto');
const check = !process.argv.includes('--no-check');
const loadBefore = os.loadavg();
const info = await initBackend({ backend: 'wasm', threads });
// --polyfills MODULE / --text MODULE: another build's wasm kernel polyfills / Transformer classifiers (e.g. an older
// packages/core/src/polyfills/index.ts or packages/text/src/index.ts bundled with esbuild), to time a change against
// its baseline in the same session
const here = `file://${process.cwd()}/`;
const polyfills = arg('polyfills', undefined);
if (polyfills) {
  const tag = Symbol.for('parry.polyfill');
  for (const k of tf.getKernelsForBackend('wasm')) {
    const t = k.kernelFunc[tag];
    if (!t) continue;
    tf.unregisterKernel(k.kernelName, 'wasm');
    if (t.original) tf.registerKernel(t.original);
  }
  (await import(new URL(polyfills, here).href)).registerWasmPolyfills();
}
const text = arg('text', undefined);
const { createTransformerClassifier, estimateTrainingMemory, smallConfig } = await import(text ? new URL(text, here).href : '../dist/index.js');

// peak bytes of live tensor buffers, counted per buffer (tf.memory() counts a buffer once per tensor sharing it)
const engine = tf.engine();
const live = new Map();
let bytes = 0;
let peak = 0;
const track = engine.trackTensor.bind(engine);
engine.trackTensor = (a, backend) => {
  const had = engine.state.tensorInfo.has(a.dataId);
  track(a, backend);
  if (!had && a.dtype !== 'string') {
    const b = a.size * 4;
    live.set(a.dataId, b);
    bytes += b;
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

const cfg = smallConfig('bert', { vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512 });
const model = createTransformerClassifier(cfg, { seed: 0 });
let state = 1;
const rand = (n) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), 5 + ((state >>> 8) % (n - 5)));
const encodings = Array.from({ length: batchSize * steps }, () => ({ ids: Array.from({ length }, () => rand(cfg.vocabSize)), typeIds: new Array(length).fill(0) }));
const labels = Int32Array.from(encodings, (_, i) => i % 2);
const { trainText } = await import('../../defenses/dist/index.js');
const times = [];
const cpuTimes = [];
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let last = performance.now();
let lastCpu = cpuNow();
let error;
let used;
try {
  await trainText(model, { encodings, labels }, {
    epochs: 1,
    batchSize,
    learningRate: 1e-5,
    seed: 0,
    padId: 0,
    gradAccum: accum,
    memoryCheck: check,
    ...(recompute === 'auto' ? {} : { recompute: recompute === 'on' }),
    onBatch: () => {
      used = model.recompute;
      const now = performance.now();
      times.push((now - last) / 1000);
      last = now;
      // CPU time of this process: on a machine shared with other jobs, wall time measures the scheduler too
      const c = cpuNow();
      cpuTimes.push(c - lastCpu);
      lastCpu = c;
    },
  });
} catch (e) {
  error = String(e?.message ?? e).split('\n')[0];
}
const micro = Math.ceil(batchSize / accum);
const gib = (b) => Number((b / 2 ** 30).toFixed(3));
const est = estimateTrainingMemory(cfg, micro, length, accum > 1, used ?? recompute === 'on');
const heap = tf.backend().wasm?.HEAPU8?.buffer?.byteLength;
process.stdout.write(
  `${JSON.stringify({
    engine: 'tfjs-wasm',
    threads: info.threads,
    shape: 'bert-base',
    batch: batchSize,
    length,
    accum,
    micro,
    recompute: used === undefined ? recompute : used ? 'on' : 'off',
    steps: times.length,
    stepSeconds: times.map((t) => Number(t.toFixed(2))),
    peakLiveGiB: gib(peak),
    wasmHeapGiB: heap ? gib(heap) : undefined,
    estimateGiB: gib(est.totalBytes),
    ...(error ? { error } : {}),
    ...(polyfills || text ? { polyfills: polyfills ?? 'current', text: text ?? 'current' } : {}),
    stepCpuSeconds: cpuTimes.map((t) => Number(t.toFixed(2))),
    loadBefore,
    loadAfter: os.loadavg(),
  })}\n`,
);
process.exit(error ? 1 : 0);
