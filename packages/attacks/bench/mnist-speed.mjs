#!/usr/bin/env node
/**
 * One Parry measurement of MNIST attack speed, printed as one JSON line (the driver, mnist-vs-torch.mjs, runs it in a
 * fresh process per attack and thread count, alternating with PyTorch's scripts/bench-torch.py --once):
 *
 *   node packages/attacks/bench/mnist-speed.mjs --attack fgsm|pgd --threads 1|2 [--batches 4] [--steps 40]
 *
 * The Wong et al. 2020 MNIST CNN of the image benchmarks (`mnistCnn` from @parry/core: conv 16 4x4 s2, conv 32 4x4 s2,
 * dense 100, dense 10) with random weights (its He-normal initialisation, seed 0; speed does not depend on them), on
 * random images in [0, 1] with random labels, wasm backend (XNNPACK) with Parry's polyfills at `--threads`. FGSM, or
 * PGD with `--steps` steps of 0.01 and a random start, Linf eps 0.3, batch 256, through `runAttack` (so every batch
 * also pays the projection, one forward pass for the success criterion and the distances). One warm-up batch, then
 * `--batches` batches timed together, up to reading the success flags back.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { disposeAttackResult, fromLayersModel, initBackend, mnistCnn, runAttack, untargeted } from '@parry/core';
import { fgsm, pgd } from '../dist/index.js';

const BATCH = 256;
const EPS = 0.3;
const STEP_SIZE = 0.01;

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const attackName = arg('attack', 'pgd');
const threads = Number(arg('threads', '1'));
const batches = Number(arg('batches', '4'));
const steps = Number(arg('steps', '40'));
function usage(msg) {
  process.stderr.write(`mnist-speed: ${msg}\n`);
  process.exit(2);
}
if (attackName !== 'fgsm' && attackName !== 'pgd') usage(`--attack ${attackName}: use fgsm or pgd`);
if (!(threads === 1 || threads === 2)) usage(`--threads ${arg('threads')}: use 1 or 2`);
for (const [name, v] of [['batches', batches], ['steps', steps]]) if (!(Number.isInteger(v) && v >= 1)) usage(`--${name} ${arg(name)}: use a whole number of at least 1`);

const info = await initBackend({ backend: 'wasm', threads });
if (info.name !== 'wasm' || info.threads !== threads) usage(`asked for wasm with ${threads} thread(s), got ${info.name} with ${info.threads} (${info.threadsReason}); run it in a fresh process`);

const layers = mnistCnn({ seed: 0 });
const model = fromLayersModel(layers, { bounds: [0, 1] });
const n = batches * BATCH;
const x = tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', 1);
const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([n], 0, 10, 'float32', 2)), 'int32'));
const attack = attackName === 'fgsm' ? fgsm() : pgd({ steps, stepSize: STEP_SIZE, randomStart: true });

/** Attack `images` (a slice of x, y) in batches of 256; returns seconds until the success flags are read back. */
async function timed(images) {
  const xs = tf.slice(x, 0, images);
  const ys = tf.slice(y, 0, images);
  try {
    const t0 = performance.now();
    const result = await runAttack(attack, model, xs, untargeted(ys), { epsilons: [EPS], seed: 0, batchSize: BATCH });
    const success = await result.perEpsilon[0].success.data();
    const seconds = (performance.now() - t0) / 1000;
    disposeAttackResult(result);
    return { seconds, successRate: success.reduce((s, v) => s + Number(v), 0) / success.length };
  } finally {
    tf.dispose([xs, ys]);
  }
}

await timed(BATCH); // warm-up
const before = tf.memory().numTensors;
const { seconds, successRate } = await timed(n);
const leakedTensors = tf.memory().numTensors - before;
tf.dispose([x, y]);
layers.dispose();

process.stdout.write(
  `${JSON.stringify({
    engine: 'parry',
    backend: info.name,
    threads: info.threads,
    polyfills: info.polyfills,
    versions: info.versions,
    attack: attackName,
    steps: attackName === 'fgsm' ? 1 : steps,
    batch: BATCH,
    batches,
    images: n,
    seconds,
    imagesPerSecond: n / seconds,
    successRate,
    leakedTensors,
    weights: 'random (mnistCnn He-normal initialisation, seed 0)',
    load: os.loadavg(),
  })}\n`,
);
