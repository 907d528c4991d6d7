/**
 * `Identity` for the wasm backend without a copy. tfjs-backend-wasm 4.22's builtin copies the tensor into a fresh
 * buffer; the engine runs Identity for every `tf.clone`, and the gradient tape clones every tensor a kernel saves for
 * its backward pass. So during a training pass the wasm heap held a second copy of every weight a matMul, gather or
 * reshape read (BERT-base: two copies of each Linear weight and one of the 89 MiB word-embedding table, ~740 MiB
 * at batch 1) and one copy of every saved activation per consumer. Tensors are immutable in tfjs (a variable's
 * `assign` swaps in a new buffer), so sharing is safe; this is what the cpu backend's Identity does: the output
 * shares the input's buffer and counts one more reference to it. (`Transpose` by a permutation that moves no data
 * shares it the same way: see `transpose.ts`.)
 */
import type * as tf from '@tensorflow/tfjs-core';
import { input, type KernelArgs } from './kernel-utils.js';

interface RefCounted {
  incRef(dataId: tf.DataId): void;
}

export function identityWasm(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  (args.backend as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
