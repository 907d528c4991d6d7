/**
 * `Identity` for the wasm backend without a copy. tfjs-backend-wasm 4.22's builtin copies the tensor into a fresh
 * buffer; the engine runs Identity for every `tf.clone`, and the gradient tape clones every tensor a kernel saves for
 * its backward pass. So during a training pass the wasm heap held a second copy of every weight a matMul, gather or
 * reshape read (BERT-base: two copies of each Linear weight and one of the 89 MiB word-embedding table, ~740 MiB
 * at batch 1) and one copy of every saved activation per consumer. Tensors are immutable in tfjs (a variable's
 * `assign` swaps in a new buffer), so sharing is safe; this is what the cpu backend's Identity does: the output
 * shares the input's buffer and counts one more reference to it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { input, type KernelArgs, originalKernel } from './kernel-utils.js';

interface RefCounted {
  incRef(dataId: tf.DataId): void;
}

export function identityWasm(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  (args.backend as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * `Transpose` for the wasm backend: a permutation that moves no data (the identity once size-1 axes are dropped)
 * shares the buffer like {@link identityWasm}; the builtin copies it. The gradient of `gather` (every embedding)
 * ends with such a transpose of the whole table's gradient, and the tape keeps both until the backward pass ends
 * (BERT-base: 89 MiB). Every other permutation runs the builtin.
 */
export function transposeWasm(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const perm = (args.attrs?.perm as number[] | undefined) ?? [...x.shape.keys()].reverse();
  const moved = perm.filter((p) => x.shape[p] !== 1);
  if (moved.every((p, i) => i === 0 || moved[i - 1] < p)) {
    (args.backend as RefCounted).incRef(x.dataId);
    return { dataId: x.dataId, shape: perm.map((p) => x.shape[p]), dtype: x.dtype };
  }
  const builtin = originalKernel('Transpose', 'wasm');
  if (!builtin) throw new Error('the wasm backend has no Transpose kernel');
  return builtin.kernelFunc({ ...args, attrs: args.attrs ?? {} } as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}
