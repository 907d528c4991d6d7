/**
 * Faster wasm `GatherV2`, `Slice` and `Sum` (tfjs-backend-wasm 4.22) for the cases a Transformer training step
 * runs; every other case runs the builtin.
 *
 * - `GatherV2` (every embedding lookup): the builtin copies element by element with index arithmetic per element
 *   (256 rows of 768: ~8 ms CPU on this project's 2-vCPU box). Here: one `copyWithin` per gathered row.
 * - `Slice` (position embeddings, the first token): the builtin reads the whole input out of the heap
 *   (`readSync` copies it) before it copies the slice, so slicing a few rows of a big table costs the table.
 *   Here: `copyWithin` of the innermost runs, in the heap.
 * - `Sum` over leading axes (every bias gradient: a sum over the batch rows): the builtin transposes the input to
 *   put the reduced axes last (an element-by-element copy), then sums. Here: rows added into the output in order,
 *   in float32, so each output element is the same sequence of float32 additions as the builtin's (checked bit for
 *   bit in the test).
 *
 * All on 4-byte dtypes (float32, int32; Sum on float32 only), reading and writing the heap in place.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { input, type KernelArgs, originalKernel, sizeOf, type WasmBackendLike, wordOffset } from './kernel-utils.js';

function builtin(name: string, args: KernelArgs): tf.TensorInfo {
  const k = originalKernel(name, 'wasm');
  if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
  return k.kernelFunc({ ...args, attrs: args.attrs ?? {} } as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

const FOUR_BYTES = new Set(['float32', 'int32']);

/** Int32 view of the whole heap and a tensor's element offset in it (views taken after every allocation). */
function at(backend: WasmBackendLike, t: tf.TensorInfo): { heap: Int32Array; offset: number } {
  const v = backend.typedArrayFromHeap(t);
  return { heap: new Int32Array(v.buffer), offset: wordOffset(v) };
}

/** Kernel function replacing wasm `GatherV2`: any axis, `batchDims` 0, 4-byte values. */
export function gatherV2Wasm(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const indices = input(args, 'indices');
  const batchDims = Number(args.attrs?.batchDims ?? 0);
  const rawAxis = Number(args.attrs?.axis ?? 0);
  const axis = rawAxis < 0 ? rawAxis + x.shape.length : rawAxis;
  if (batchDims !== 0 || !FOUR_BYTES.has(x.dtype) || indices.dtype !== 'int32' || !(axis >= 0 && axis < x.shape.length)) {
    return builtin('GatherV2', args);
  }
  const backend = args.backend as WasmBackendLike;
  const dim = x.shape[axis];
  const ids = backend.typedArrayFromHeap(indices);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    // the builtin's check and message
    if (!(id >= 0 && id <= dim - 1)) throw new Error(`GatherV2: the index value ${id} is not in [0, ${dim - 1}]`);
  }
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const n = ids.length;
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  if (outer * n * inner === 0) return out;
  const src = at(backend, x);
  const dst = at(backend, out);
  const idv = backend.typedArrayFromHeap(indices);
  const heap = src.heap;
  for (let o = 0; o < outer; o++) {
    const xo = src.offset + o * dim * inner;
    const oo = dst.offset + o * n * inner;
    for (let i = 0; i < n; i++) {
      const s = xo + idv[i] * inner;
      heap.copyWithin(oo + i * inner, s, s + inner);
    }
  }
  return out;
}

/** Kernel function replacing wasm `Slice` for 4-byte values. */
export function sliceWasm(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  if (!FOUR_BYTES.has(x.dtype) || x.shape.length === 0) return builtin('Slice', args);
  const rank = x.shape.length;
  const beginAttr = args.attrs?.begin as number | number[];
  const sizeAttr = args.attrs?.size as number | number[] | undefined;
  // tf.slice_util.parseSliceParams: a number applies to the first axis; size -1 (or absent) runs to the end
  const begin = Array.from({ length: rank }, (_, i) => (Array.isArray(beginAttr) ? (beginAttr[i] ?? 0) : i === 0 ? Number(beginAttr ?? 0) : 0));
  const size = Array.from({ length: rank }, (_, i) => {
    const s = Array.isArray(sizeAttr) ? sizeAttr[i] : i === 0 && sizeAttr !== undefined ? sizeAttr : -1;
    return s === undefined || s === -1 ? x.shape[i] - begin[i] : s;
  });
  if (begin.some((b, i) => !(b >= 0 && size[i] >= 0 && b + size[i] <= x.shape[i]))) return builtin('Slice', args);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(size, x.dtype);
  const total = sizeOf(size);
  if (total === 0) return out;
  const src = at(backend, x);
  const dst = at(backend, out);
  const strides: number[] = new Array(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * x.shape[i + 1];
  const run = size[rank - 1];
  const idx = new Array(rank - 1).fill(0);
  for (let o = 0; o < total; o += run) {
    let s = src.offset + begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) s += (begin[d] + idx[d]) * strides[d];
    src.heap.copyWithin(dst.offset + o, s, s + run);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Kernel function replacing wasm `Sum` for a float32 sum over leading axes (the rest runs the builtin). */
export function sumWasm(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const rank = x.shape.length;
  const axisAttr = args.attrs?.axis as number | number[] | undefined;
  const axes = (axisAttr === undefined || axisAttr === null ? [...x.shape.keys()] : Array.isArray(axisAttr) ? axisAttr : [axisAttr])
    .map((a) => (a < 0 ? a + rank : a));
  // axes given in order only: the builtin sums in the order the axes are given ([1, 0] is another order)
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return builtin('Sum', args);
  const backend = args.backend as WasmBackendLike;
  const keepDims = Boolean(args.attrs?.keepDims);
  const kept = x.shape.slice(axes.length);
  const rows = sizeOf(x.shape.slice(0, axes.length));
  const inner = sizeOf(kept);
  const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  o.fill(0);
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  // float32 accumulation, rows in order: each output the same sequence of float32 additions as the builtin's
  for (let r = 0; r < rows; r++) {
    const base = r * inner;
    for (let j = 0; j < inner; j++) o[j] += xv[base + j];
  }
  return out;
}
