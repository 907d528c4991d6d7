import * as tfl from '@tensorflow/tfjs-layers';
import { createRng } from './rng.js';

export interface MnistCnnOptions {
  seed?: number;
  /** Dropout rate before the last layer (0 = none). */
  dropout?: number;
  /** Width multiplier for the filters and hidden units (1 = the paper's 16/32/100). */
  width?: number;
  inputShape?: [number, number, number];
  numClasses?: number;
}

/**
 * The small MNIST CNN of Wong, Rice & Kolter 2020 ("Fast is better than free", https://arxiv.org/abs/2001.03994):
 * conv 16 4x4 stride 2 same -> relu -> conv 32 4x4 stride 2 same -> relu -> flatten -> dense 100 relu -> dense 10.
 * Outputs logits. Weight initialisation is seeded.
 */
export function mnistCnn(options: MnistCnnOptions = {}): tfl.LayersModel {
  const { seed = 0, dropout = 0, width = 1, inputShape = [28, 28, 1], numClasses = 10 } = options;
  const rng = createRng(seed);
  const init = () => tfl.initializers.heNormal({ seed: rng.tfSeed() });
  const model = tfl.sequential({ name: width === 1 ? 'mnist-cnn-wong2020' : `mnist-cnn-wong2020-x${width}` });
  model.add(tfl.layers.conv2d({ inputShape, filters: 16 * width, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() }));
  model.add(tfl.layers.conv2d({ filters: 32 * width, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() }));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 100 * width, activation: 'relu', kernelInitializer: init() }));
  if (dropout > 0) model.add(tfl.layers.dropout({ rate: dropout, seed: rng.tfSeed() }));
  model.add(tfl.layers.dense({ units: numClasses, kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.tfSeed() }) }));
  return model;
}
