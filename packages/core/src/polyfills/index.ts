/**
 * Kernel polyfills for the TensorFlow.js wasm backend (and one for cpu), tfjs 4.22.0.
 *
 * Missing on wasm, needed for training:
 * - `UnsortedSegmentSum`: the gradient of `gather` (embeddings).
 * - `Conv2DBackpropFilter`: the weight gradient of conv2d.
 * Wrong on wasm:
 * - `Sign`: 0 for |x| below ~1.2e-7 (every Linf step takes the sign of a gradient).
 * Performance (the builtins exist but fall off a cliff):
 * - `BatchMatMul`, `_FusedMatMul`: 14-28x slower with a transpose flag (every backward matMul), ~10x when batched.
 * - `Conv2DBackpropInput`: a naive loop; rewritten as an XNNPACK conv2d (every input-gradient step).
 * Memory:
 * - `Identity` copies; every `tf.clone` and every tensor the gradient tape saves runs it, so a training pass held a
 *   second copy of every weight (BERT-base: ~740 MiB). The replacement shares the buffer, as cpu's does.
 * - `Transpose` copies for a permutation that moves nothing (the end of every embedding gradient); shared too.
 * Performance, again:
 * - `Transpose` walks the output element by element (a cache miss each on a big matrix); a swap of two axis groups
 *   (every transpose of a Transformer layer and its gradients) is done in 32 x 32 blocks instead.
 * - `GatherV2` copies element by element, `Slice` first copies its whole input out of the heap, `Sum` over leading
 *   axes (every bias gradient) transposes first: row copies / row sums in the heap instead.
 * On cpu, `UnsortedSegmentSum` is O(numSegments·N·inner) and is replaced by the linear one.
 *
 * Every polyfill calls other kernels of the same backend directly and frees its intermediates, so it leaves no
 * tensors behind (checked by the tests with `tf.memory().numTensors` and the backend's data count).
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulWasm, fusedMatMulWasm } from './batch-mat-mul.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputWasm } from './conv2d-backprop-input.js';
import { gatherV2Wasm, sliceWasm, sumWasm } from './gather-slice-sum.js';
import { identityWasm } from './identity.js';
import { signWasm } from './sign.js';
import { transposeWasm } from './transpose.js';
import { installKernel, polyfilledKernels, uninstallKernel } from './kernel-utils.js';
import { unsortedSegmentSumCpu, unsortedSegmentSumWasm } from './unsorted-segment-sum.js';

/** Options for {@link registerWasmPolyfills}. */
export interface PolyfillOptions {
  /**
   * Also replace the slow-but-present kernels (`BatchMatMul`, `_FusedMatMul`, `Conv2DBackpropInput`) with faster
   * versions, and the copying `Identity` with one that shares the buffer. Default true. `false` registers only the missing kernels (and leaves earlier replacements in place;
   * use {@link unregisterPolyfills} to remove them).
   */
  performance?: boolean;
}

/** Kernels the wasm backend lacks, or has wrong (`Sign` is 0 below ~1.2e-7 there). */
const MISSING_ON_WASM: ReadonlyArray<[string, tf.KernelFunc]> = [
  ['UnsortedSegmentSum', unsortedSegmentSumWasm as tf.KernelFunc],
  ['Conv2DBackpropFilter', conv2DBackpropFilterWasm as tf.KernelFunc],
  ['Sign', signWasm as tf.KernelFunc],
];

/** Builtin wasm kernels replaced for speed or memory; the matMul/conv ones delegate to the builtin they replace. */
const FASTER_ON_WASM: ReadonlyArray<[string, tf.KernelFunc]> = [
  ['BatchMatMul', batchMatMulWasm as tf.KernelFunc],
  ['_FusedMatMul', fusedMatMulWasm as tf.KernelFunc],
  ['Conv2DBackpropInput', conv2DBackpropInputWasm as tf.KernelFunc],
  ['Identity', identityWasm as tf.KernelFunc],
  ['Transpose', transposeWasm as tf.KernelFunc],
  ['GatherV2', gatherV2Wasm as tf.KernelFunc],
  ['Slice', sliceWasm as tf.KernelFunc],
  ['Sum', sumWasm as tf.KernelFunc],
];

/**
 * Registers the wasm polyfills. Import `@tensorflow/tfjs-backend-wasm` first (`initBackend` does): the
 * performance wrappers delegate to its kernels, and a replaced kernel whose builtin is not registered yet is skipped.
 * Idempotent: a kernel already polyfilled is left as it is (never wrapped twice).
 *
 * @returns the kernel names polyfilled on wasm after the call (added or replaced, sorted), including ones
 *   registered by an earlier call.
 */
export function registerWasmPolyfills(options: PolyfillOptions = {}): string[] {
  const performance = options.performance ?? true;
  for (const [name, fn] of MISSING_ON_WASM) installKernel(name, 'wasm', fn);
  if (performance) {
    for (const [name, fn] of FASTER_ON_WASM) {
      // Only wrap a builtin that exists: registering before the wasm module would be overwritten by it.
      if (tf.getKernel(name, 'wasm')) installKernel(name, 'wasm', fn);
    }
  }
  return polyfilledKernels('wasm');
}

/**
 * Replaces the cpu backend's `UnsortedSegmentSum` (O(numSegments·N·inner) time and memory) with a linear one.
 * Import `@tensorflow/tfjs-backend-cpu` first. Idempotent.
 *
 * @returns the kernel names polyfilled on cpu after the call.
 */
export function registerCpuPolyfills(): string[] {
  installKernel('UnsortedSegmentSum', 'cpu', unsortedSegmentSumCpu as tf.KernelFunc);
  return polyfilledKernels('cpu');
}

/**
 * Removes the polyfills from a backend and restores the kernels they replaced (missing ones become missing
 * again). For benchmarks and tests.
 *
 * @returns the kernel names that were removed.
 */
export function unregisterPolyfills(backendName: 'wasm' | 'cpu' = 'wasm'): string[] {
  return polyfilledKernels(backendName).filter((name) => uninstallKernel(name, backendName));
}

/** Kernel names currently polyfilled on a backend (sorted). */
export function listPolyfills(backendName: 'wasm' | 'cpu' = 'wasm'): string[] {
  return polyfilledKernels(backendName);
}
