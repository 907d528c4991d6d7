import * as tf from '@tensorflow/tfjs-core';
import { initBackend, mnistCnn, fromLayersModel, createRng } from '@parry/core';
import { loadMnistIdx, toTensors } from '../datasets/dist/index.js';
import { train, fgsmRs } from './dist/index.js';
await initBackend();
const ds = loadMnistIdx('/work/shared/data/mnist');
const N = Number(process.argv[2] ?? 12000), E = Number(process.argv[3] ?? 4), init = process.argv[4] ?? 'torch';
const tr = toTensors(ds.train, 0, N); const te = toTensors(ds.test, 9000, 10000);
const layers = mnistCnn({ seed: 0 });
if (init === 'torch') {
  const rng = createRng(123);
  for (const w of layers.trainableWeights) {
    const v = w.read();
    // fan_in of the layer = kernel fan-in; bias shares its layer's
    const kernel = layers.trainableWeights.find((k) => k.originalName.split('/')[0] === w.originalName.split('/')[0] && k.shape.length > 1);
    const fanIn = kernel.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const b = 1 / Math.sqrt(fanIn);
    v.assign(tf.randomUniform(v.shape, -b, b, 'float32', rng.tfSeed()));
  }
}
const t0 = performance.now();
await train(fromLayersModel(layers), tr, { epochs: E, batchSize: 100, learningRate: 5e-3, seed: 0, schedule: 'cyclic', defenses: [fgsmRs({ eps: 0.3 })], evalSet: te, robustEval: { eps: 0.3, steps: 10, n: 500 }, weights: layers.trainableWeights.map(w => w.read()),
  onEpoch: (r) => console.log(init, r.epoch, r.loss.toFixed(3), r.testAccuracy, r.robustAccuracy, r.seconds.toFixed(1)) });
