// Child process for the kill/resume test: trains a tiny model with several plugins, checkpointing every epoch.
// Usage: node resume-child.mjs <checkpointDir> <outFile> <resume 0|1> <slowMs>
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fromLayersModel, initBackend } from '@parry/core';
import { fgsmRs, gaussianNoise, labelSmoothing, train, weightDecay } from '../dist/index.js';

const [ckpt, outFile, resume, slowMs] = process.argv.slice(2);
await initBackend({ backend: 'wasm' });
const n = 320;
const data = tf.tidy(() => {
  const y = tf.cast(tf.floor(tf.mul(tf.randomUniform([n], 0, 1, 'float32', 11), 3)), 'int32');
  const centre = tf.mul(tf.oneHot(y, 4), 0.5);
  const x = tf.clipByValue(tf.add(tf.add(centre, 0.25), tf.randomNormal([n, 4], 0, 0.12, 'float32', 12)), 0, 1);
  return { x, y };
});
const m = tfl.sequential();
m.add(tfl.layers.dense({ inputShape: [4], units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
m.add(tfl.layers.dropout({ rate: 0.2, seed: 5 }));
m.add(tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
const model = fromLayersModel(m);
const result = await train(model, data, {
  epochs: 6,
  batchSize: 32,
  learningRate: 0.02,
  seed: 42,
  schedule: 'cyclic',
  defenses: [fgsmRs({ eps: 0.1 }), gaussianNoise({ sigma: 0.05 }), labelSmoothing({ smoothing: 0.1 }), weightDecay({ rate: 0.01 })],
  evalSet: data,
  robustEval: { eps: 0.1, steps: 3, n: 100 },
  earlyStop: { patience: 10 },
  checkpointDir: ckpt,
  resume: resume === '1',
  weights: m.trainableWeights.map((w) => w.read()),
  onEpoch: async () => {
    if (Number(slowMs) > 0) await new Promise((r) => setTimeout(r, Number(slowMs)));
  },
});
const weights = await Promise.all(m.trainableWeights.map(async (w) => Array.from(await w.read().data())));
const records = result.epochs.map(({ seconds, trainSeconds, ...rest }) => rest);
fs.writeFileSync(outFile, JSON.stringify({ weights, records, resumedFrom: result.resumedFrom, counters: result.counters }));
