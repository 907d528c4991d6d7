import * as fs from 'node:fs';
import { InputError } from '@parry/core';
import { type ImageDataset, loadEmbeddedMnist, loadMnistIdx } from '@parry/datasets';

/** Where a model's data came from; stored in the model so `eval` attacks the held-out part of the same split. */
export interface ImageDataRef {
  kind: 'embedded-mnist' | 'mnist-idx';
  /** IDX directory (mnist-idx only). */
  dir?: string;
  /** Split seed and test fraction (embedded only). */
  seed?: number;
  testFraction?: number;
}

/** Load the image data a {@link ImageDataRef} names (MNIST IDX files, or the embedded digits split with a seed). */
export function loadImageData(ref: ImageDataRef): ImageDataset {
  if (ref.kind === 'mnist-idx') {
    if (!ref.dir || !fs.existsSync(ref.dir)) throw new InputError(`data directory ${ref.dir} not found; pass --data <dir with MNIST IDX files>`);
    if (!fs.statSync(ref.dir).isDirectory()) {
      throw new InputError(`--data ${ref.dir} is a file, not a directory; pass the directory that holds the MNIST IDX files`);
    }
    // The loader refuses empty, truncated, mismatched and non-regular IDX files in one line naming the file.
    return loadMnistIdx(ref.dir);
  }
  return loadEmbeddedMnist({ seed: ref.seed ?? 0, testFraction: ref.testFraction ?? 0.2 });
}
