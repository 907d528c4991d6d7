#!/usr/bin/env node
/**
 * Per-kernel time of one Transformer training step (loss + gradients, no optimizer) on a tfjs backend, split into
 * forward, backward and (with recomputation) the recomputed forward; backward kernels are also attributed to the
 * forward op whose gradient ran them. Every kernel registered for the backend is wrapped with a timer; a kernel
 * calling another kernel (the polyfills do) is charged its own (exclusive) time only. Prints a table per phase and
 * one JSON line at the end. Usage, after `pnpm build`:
 *
 *   node packages/text/bench/profile-step.mjs [--layers 2] [--hidden 768] [--heads 12] [--ffn 3072] [--vocab 30522]
 *        [--batch 2] [--length 128] [--threads 1] [--steps 3] [--recompute off|on] [--backend wasm|cpu] [--top 12]
 *        [--no-profile]   (plain step times, no kernel wrappers)  [--shapes]   (one row per kernel and input shapes)
 *        [--cpu-prof FILE] (a V8 CPU profile of the timed steps)  [--polyfills MODULE] (another build's wasm polyfills)
 *        [--text MODULE] (another build's Transformer classifiers)
 *
 * The first step is a warm-up; the tables average the later ones. Times are CPU time of this process unless
 * `--clock wall` (stepSeconds is always wall time; stepClockSeconds the chosen clock).
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const layers = Number(arg('layers', '2'));
const hidden = Number(arg('hidden', '768'));
const heads = Number(arg('heads', '12'));
const ffn = Number(arg('ffn', String(4 * hidden)));
const vocab = Number(arg('vocab', '30522'));
const batch = Number(arg('batch', '2'));
const length = Number(arg('length', '128'));
const threads = Number(arg('threads', '1'));
const steps = Number(arg('steps', '3'));
const recompute = arg('recompute', 'off') === 'on';
const backendName = arg('backend', 'wasm');
const top = Number(arg('top', '12'));
const profile = !process.argv.includes('--no-profile');
const shapes = process.argv.includes('--shapes');
// CPU time of this process (the wasm backend at 1 thread runs on the main thread): on a machine shared with other
// jobs, wall time measures the scheduler as much as the kernels. `--clock wall` for wall time.
const clock = arg('clock', 'cpu');
const now =
  clock === 'wall'
    ? () => performance.now()
    : () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };
const loadBefore = os.loadavg();
await initBackend({ backend: backendName, threads });
// --polyfills MODULE: swap Parry's wasm polyfills for the ones MODULE's registerWasmPolyfills() installs (e.g. an
// older build of packages/core/src/polyfills bundled with esbuild), to time a kernel change against its baseline
const polyfills = arg('polyfills', undefined);
if (polyfills) {
  const tag = Symbol.for('parry.polyfill');
  for (const k of tf.getKernelsForBackend('wasm')) {
    const t = k.kernelFunc[tag];
    if (!t) continue;
    tf.unregisterKernel(k.kernelName, 'wasm');
    if (t.original) tf.registerKernel(t.original);
  }
  const { registerWasmPolyfills } = await import(new URL(polyfills, `file://${process.cwd()}/`).href);
  registerWasmPolyfills();
}

// phase: what the engine is doing; gradOf: the forward kernel whose gradient is running
let phase = 'other';
let gradOf = '';
const table = new Map(); // `${phase}\t${kernel}` -> [ms, calls]
const gradTable = new Map(); // `${phase}\t${gradOf}` -> ms
let measuring = false;
let depth = 0;
const childStack = [];
const charge = (map, key, ms, n = 1) => {
  const e = map.get(key) ?? [0, 0];
  e[0] += ms;
  e[1] += n;
  map.set(key, e);
};
if (profile) {
  for (const k of tf.getKernelsForBackend(backendName)) {
    const inner = k.kernelFunc;
    const wrapped = (args) => {
      if (!measuring) return inner(args);
      childStack.push(0);
      depth++;
      const t0 = now();
      try {
        return inner(args);
      } finally {
        const ms = now() - t0;
        depth--;
        const children = childStack.pop();
        if (childStack.length) childStack[childStack.length - 1] += ms;
        const shape = shapes ? ` ${Object.values(args.inputs).filter(Boolean).map((t) => `[${t.shape}]`).join('')}${args.attrs?.transposeA ? ' tA' : ''}${args.attrs?.transposeB ? ' tB' : ''}${args.attrs?.perm ? ` p${args.attrs.perm}` : ''}` : '';
        charge(table, `${phase}\t${k.kernelName}${shape}`, ms - children);
        if (phase !== 'forward' && depth === 0) charge(gradTable, `${phase}\t${gradOf}`, ms);
      }
    };
    for (const s of Object.getOwnPropertySymbols(inner)) wrapped[s] = inner[s];
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({ ...k, kernelFunc: wrapped });
  }
  // phases: the function given to engine.gradients is the forward; then its tape's gradient functions run
  const engine = tf.engine();
  const gradients = engine.gradients.bind(engine);
  engine.gradients = (f, xs, dy, allow) => {
    const outerPhase = phase;
    const fwd = outerPhase === 'other' ? 'forward' : 'recompute';
    const bwd = outerPhase === 'other' ? 'backward' : 'backward';
    try {
      return gradients(
        () => {
          phase = fwd;
          const y = f();
          for (const node of engine.state.activeTape ?? []) {
            const g = node.gradient;
            if (!g) continue;
            const name = node.kernelName;
            const within = (fn) => (...a) => {
              const prev = gradOf;
              gradOf = name;
              try {
                return fn(...a);
              } finally {
                gradOf = prev;
              }
            };
            // a gradient function returns thunks per input; the kernels run when those are called
            node.gradient = (...a) => Object.fromEntries(Object.entries(within(g)(...a)).map(([k, thunk]) => [k, within(thunk)]));
          }
          phase = bwd;
          return y;
        },
        xs,
        dy,
        allow,
      );
    } finally {
      phase = outerPhase;
    }
  };
}

// --text MODULE: the Transformer classifiers of another @parry/text build (e.g. an older src bundled with esbuild)
const text = arg('text', undefined);
const { createTransformerClassifier, smallConfig } = await import(text ? new URL(text, `file://${process.cwd()}/`).href : '../dist/index.js');
const cfg = smallConfig('bert', { vocabSize: vocab, hiddenSize: hidden, numLayers: layers, numHeads: heads, intermediateSize: ffn, maxPositions: 512 });
const model = createTransformerClassifier(cfg, { seed: 0 });
model.recompute = recompute;
let state = 1;
const rand = (n) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), 5 + ((state >>> 8) % (n - 5)));
const ids = Int32Array.from({ length: batch * length }, () => rand(vocab));
const textBatch = {
  inputIds: tf.tensor2d(ids, [batch, length], 'int32'),
  attentionMask: tf.ones([batch, length], 'int32'),
  tokenTypeIds: tf.zeros([batch, length], 'int32'),
};
const labels = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 2), 'int32'), cfg.numLabels ?? 2);
const vars = model.parameters().map((p) => p.variable);
const times = [];
const clocks = [];
// --cpu-prof FILE: a V8 CPU profile (JS and wasm functions) of the timed steps only
const cpuProf = arg('cpu-prof', undefined);
let session;
for (let s = 0; s < steps; s++) {
  if (cpuProf && s === 1) {
    const { Session } = await import('node:inspector/promises');
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  measuring = s > 0;
  const t0 = performance.now();
  const c0 = now();
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.logits(textBatch, { training: true, seed: s })), vars);
  // wasm and cpu kernels run synchronously: every gradient is computed when variableGrads returns
  await value.data();
  times.push((performance.now() - t0) / 1000);
  clocks.push((now() - c0) / 1000);
  value.dispose();
  tf.dispose(grads);
}
measuring = false;
if (session) {
  const { profile: prof } = await session.post('Profiler.stop');
  const fs = await import('node:fs');
  fs.writeFileSync(cpuProf, JSON.stringify(prof));
}

const fmt = (ms) => (ms / Math.max(1, steps - 1)).toFixed(1).padStart(8);
const result = { backend: backendName, threads, layers, hidden, batch, length, vocab, recompute, clock, polyfills: polyfills ?? 'current', text: text ?? 'current', stepSeconds: times.map((t) => Number(t.toFixed(3))), stepClockSeconds: clocks.map((t) => Number(t.toFixed(3))) };
if (profile) {
  const phases = {};
  for (const [key, [ms, n]] of table) {
    const [p, name] = key.split('\t');
    (phases[p] ??= []).push([name, ms, n]);
  }
  for (const [p, rows] of Object.entries(phases)) {
    rows.sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((s, r) => s + r[1], 0);
    result[`${p}Ms`] = Number((total / Math.max(1, steps - 1)).toFixed(1));
    result[`${p}Top`] = rows.slice(0, top).map(([name, ms, n]) => [name, Number((ms / (steps - 1)).toFixed(1)), n / (steps - 1)]);
    process.stdout.write(`\n== ${p}: ${fmt(total)} ms/step in kernels\n`);
    for (const [name, ms, n] of rows.slice(0, top)) process.stdout.write(`${fmt(ms)} ms ${String(n / (steps - 1)).padStart(5)}x  ${name}\n`);
  }
  const g = [...gradTable].map(([k, [ms]]) => [k, ms]).sort((a, b) => b[1] - a[1]);
  process.stdout.write(`\n== backward by forward op (inclusive)\n`);
  for (const [k, ms] of g.slice(0, top)) process.stdout.write(`${fmt(ms)} ms  ${k.replace('\t', ' <- ')}\n`);
  result.gradOfTop = g.slice(0, top).map(([k, ms]) => [k.replace('\t', ':'), Number((ms / (steps - 1)).toFixed(1))]);
}
result.loadBefore = loadBefore;
result.loadAfter = os.loadavg();
process.stdout.write(`${JSON.stringify(result)}\n`);
