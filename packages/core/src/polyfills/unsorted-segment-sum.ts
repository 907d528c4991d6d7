/**
 * `UnsortedSegmentSum` (the gradient of `gather`, e.g. of an embedding table) in plain JS, O(N·inner).
 *
 * - wasm (tfjs-backend-wasm 4.22) has no such kernel, so training anything with `tf.gather` fails there.
 * - cpu has one, but it loops over `numSegments` with equal/mul/sum and keeps every intermediate:
 *   O(numSegments·N·inner) time and memory (minutes and GBs for a 30k-row embedding). This replaces it.
 *
 * TF semantics: `out[s] = sum of x[i] over i with segmentIds[i] == s`; ids outside [0, numSegments) are dropped.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { input, sizeOf, type CpuBackendLike, type KernelArgs, type WasmBackendLike } from './kernel-utils.js';

/** Accumulates `x` rows into `out` (already zeroed) by segment id. */
export function segmentSumInto(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  inner: number,
  numSegments: number,
  out: { [i: number]: number },
): void {
  for (let i = 0, n = ids.length; i < n; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    const o = s * inner;
    const xi = i * inner;
    for (let j = 0; j < inner; j++) out[o + j] += x[xi + j];
  }
}

function shapes(args: KernelArgs): { x: tf.TensorInfo; segmentIds: tf.TensorInfo; numSegments: number; inner: number; outShape: number[] } {
  const x = input(args, 'x');
  const segmentIds = input(args, 'segmentIds');
  const numSegments = Number(args.attrs?.numSegments);
  if (!Number.isInteger(numSegments) || numSegments < 0) throw new Error(`UnsortedSegmentSum: bad numSegments ${numSegments}`);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  return { x, segmentIds, numSegments, inner: sizeOf(innerShape), outShape: [numSegments, ...innerShape] };
}

/** Kernel function for the wasm backend: reads the wasm heap in place and accumulates into a fresh wasm output. */
export function unsortedSegmentSumWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, segmentIds, numSegments, inner, outShape } = shapes(args);
  const out = backend.makeOutput(outShape, x.dtype);
  // Views are taken after the allocation: a heap growth would detach earlier ones.
  const outView = backend.typedArrayFromHeap(out);
  outView.fill(0);
  segmentSumInto(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(segmentIds), inner, numSegments, outView);
  return out;
}

/** Kernel function for the cpu backend (replaces the O(numSegments·N·inner) builtin). */
export function unsortedSegmentSumCpu(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as CpuBackendLike;
  const { x, segmentIds, numSegments, inner, outShape } = shapes(args);
  const size = numSegments * inner;
  const out = x.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  const xv = backend.readSync(x.dataId) as tf.TypedArray;
  const ids = backend.readSync(segmentIds.dataId) as tf.TypedArray;
  segmentSumInto(xv, ids, inner, numSegments, out);
  return backend.makeTensorInfo(outShape, x.dtype === 'int32' ? 'int32' : 'float32', out);
}
