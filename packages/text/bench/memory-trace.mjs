#!/usr/bin/env node
/**
 * Where the memory of one training pass goes: tracks every tensor buffer (per data id, as the backend holds it, not
 * per tensor object as tf.memory() counts) with the kernel that made it and the phase (forward / backward), and
 * prints what is alive at the peak, grouped, plus the wasm heap's size. Usage, after `pnpm build`:
 *
 *   node packages/text/bench/memory-trace.mjs [--backend wasm] [--base] [--batch 1] [--length 128] [--recompute]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';
import { countParameters, createTransformerClassifier, padBatch, smallConfig } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? true : dflt;
};
await initBackend({ backend: arg('backend', 'wasm') });
const base = arg('base', false);
const cfg = smallConfig('bert', base
  ? { vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512 }
  : { vocabSize: 2000, hiddenSize: 128, numLayers: 2, numHeads: 2, intermediateSize: 512, maxPositions: 512 });
const B = Number(arg('batch', 1));
const T = Number(arg('length', 128));
const engine = tf.engine();
const live = new Map();
let bytes = 0;
let peak = 0;
let peakSnapshot = [];
let snapAt = 0;
const snapStep = 2 ** 20;
let kernel = [];
const phase = () => (engine.state.scopeStack.some((s) => s.name === 'backward') ? 'bwd' : 'fwd');
const origTrack = engine.trackTensor.bind(engine);
engine.trackTensor = (a, backend) => {
  const had = engine.state.tensorInfo.has(a.dataId);
  origTrack(a, backend);
  if (!had) {
    const b = a.size * (a.dtype === 'string' ? 0 : 4);
    live.set(a.dataId, { bytes: b, kernel: kernel.at(-1) ?? (a instanceof tf.Variable ? 'variable' : 'op'), shape: a.shape.join('x'), phase: phase() });
    bytes += b;
    if (bytes > peak) {
      peak = bytes;
      if (bytes > snapAt + snapStep) {
        peakSnapshot = [...live.values()];
        snapAt = bytes;
      }
    }
  }
};
const origRemove = engine.removeDataId.bind(engine);
engine.removeDataId = (dataId, backend) => {
  const e = live.get(dataId);
  if (e && engine.state.tensorInfo.get(dataId)?.backend === backend) {
    bytes -= e.bytes;
    live.delete(dataId);
  }
  origRemove(dataId, backend);
};
const origRun = engine.runKernelFunc.bind(engine);
engine.runKernelFunc = (p) => {
  kernel.push(p.kernelName ?? engine.state.activeScope?.name ?? 'custom');
  try {
    return origRun(p);
  } finally {
    kernel.pop();
  }
};

const model = createTransformerClassifier(cfg, { seed: 1 });
model.recompute = Boolean(arg('recompute', false));
const P = countParameters(cfg);
const enc = Array.from({ length: B }, (_, i) => ({ ids: Array.from({ length: T }, (_, t) => 5 + ((i * 31 + t * 7) % 1900)), typeIds: new Array(T).fill(0), attentionMask: new Array(T).fill(1) }));
const batch = padBatch(enc, enc.map((_, i) => i), 0, 1);
const vars = model.parameters().map((p) => p.variable);
const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32');
const before = bytes;
peak = bytes;
snapAt = bytes;
peakSnapshot = [];
const heap = () => (tf.getBackend() === 'wasm' ? tf.backend().wasm.HEAPU8.buffer.byteLength : 0);
const t0 = performance.now();
const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 2), model.logits(batch, { training: true, seed: 1 })), vars);
const secs = (performance.now() - t0) / 1000;
const gradBytes = Object.values(grads).reduce((a, g) => a + g.size * 4, 0);
tf.dispose([value, ...Object.values(grads)]);
const mib = (b) => (b / 2 ** 20).toFixed(1);
console.log(`params ${P} (${mib(P * 4)} MiB); batch ${B} x ${T}; pass ${secs.toFixed(2)} s`);
console.log(`held before the pass ${mib(before)} MiB; peak ${mib(peak)} MiB (pass adds ${mib(peak - before)} MiB; grads ${mib(gradBytes)} MiB); wasm heap ${mib(heap())} MiB`);
const groups = new Map();
for (const e of peakSnapshot) {
  const k = `${e.phase} ${e.kernel} [${e.shape}]`;
  const g = groups.get(k) ?? { n: 0, bytes: 0 };
  g.n++;
  g.bytes += e.bytes;
  groups.set(k, g);
}
const byPhase = {};
for (const e of peakSnapshot) byPhase[`${e.phase}/${e.kernel === 'variable' ? 'variable' : 'other'}`] = (byPhase[`${e.phase}/${e.kernel === 'variable' ? 'variable' : 'other'}`] ?? 0) + e.bytes;
console.log('at the peak, by phase:', Object.fromEntries(Object.entries(byPhase).map(([k, v]) => [k, `${mib(v)} MiB`])));
const rows = [...groups.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(arg('top', 30)));
for (const [k, g] of rows) console.log(`${mib(g.bytes).padStart(9)} MiB  ${String(g.n).padStart(4)} x  ${k}`);
