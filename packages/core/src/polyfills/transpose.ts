/**
 * A faster `Transpose` for the wasm backend (tfjs-backend-wasm 4.22) on 4-byte tensors (float32, int32).
 *
 * The builtin walks the output element by element with strided reads or writes (no blocking), so a large matrix
 * costs a cache miss per element: measured on this project's 2-vCPU box (CPU time, busy machine), `[3072, 768]`
 * 21 ms builtin vs ~6 ms blocked, `[768, 768]` 2.5 vs 1.5 ms. The backward pass of every dense layer transposes its
 * weight (`dY @ W^T`) and its input (`X^T @ dY`) through the matMul polyfill, so these transposes were ~15% of a
 * BERT-style training step's kernel time.
 *
 * Any permutation that, once size-1 axes are dropped and runs of consecutive axes merged, swaps two axis groups
 * (`[outer, R, C, inner] -> [outer, C, R, inner]`, any of outer/inner possibly absent) is done here: element-wise
 * in 32 x 32 blocks when `inner` is 1, by `copyWithin` of `inner`-element runs otherwise. That covers every
 * transpose of a Transformer layer and its gradients (the last two axes of a matrix or batch of matrices, the
 * attention heads' `[0, 2, 1, 3]` and `[0, 2, 3, 1]`). Other permutations and dtypes run the builtin. A permutation
 * that moves no data shares the buffer (see `identity.ts`). Bits are copied as int32, so NaN payloads survive.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { input, type KernelArgs, originalKernel, sizeOf, type WasmBackendLike, wordOffset } from './kernel-utils.js';

interface RefCounted {
  incRef(dataId: tf.DataId): void;
}

/** `[outer, R, C, inner]` of a two-group swap, or undefined for another permutation. */
export interface SwapPlan {
  outer: number;
  rows: number;
  cols: number;
  inner: number;
}

/**
 * The plan of a permutation as a swap of two axis groups (see the file comment), `'noop'` for a permutation that
 * moves no data, or undefined when it is neither.
 */
export function swapPlan(shape: readonly number[], perm: readonly number[]): SwapPlan | 'noop' | undefined {
  // axes of size > 1, renumbered in input order
  const kept = perm.filter((p) => shape[p] !== 1);
  const rank = [...kept].sort((a, b) => a - b);
  const p = kept.map((a) => rank.indexOf(a));
  const size = rank.map((a) => shape[a]);
  // runs of consecutive input axes in output order
  const groups: number[][] = [];
  for (const a of p) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === a) last.push(a);
    else groups.push([a]);
  }
  if (groups.length <= 1) return 'noop';
  // groups in input order, with their merged sizes
  const byInput = [...groups].sort((a, b) => a[0] - b[0]);
  const merged = groups.map((g) => byInput.indexOf(g));
  const sizes = byInput.map((g) => g.reduce((s, a) => s * size[a], 1));
  const is = (pattern: number[]) => merged.length === pattern.length && merged.every((m, i) => m === pattern[i]);
  if (is([1, 0])) return { outer: 1, rows: sizes[0], cols: sizes[1], inner: 1 };
  if (is([1, 0, 2])) return { outer: 1, rows: sizes[0], cols: sizes[1], inner: sizes[2] };
  if (is([0, 2, 1])) return { outer: sizes[0], rows: sizes[1], cols: sizes[2], inner: 1 };
  if (is([0, 2, 1, 3])) return { outer: sizes[0], rows: sizes[1], cols: sizes[2], inner: sizes[3] };
  return undefined;
}

const BLOCK = 32;

/** `out[o, c, r, :] = x[o, r, c, :]` on int32 views (element offsets `xAt`, `outAt` in `heap`). */
export function swapInto(heap: Int32Array, xAt: number, outAt: number, plan: SwapPlan): void {
  const { outer, rows, cols, inner } = plan;
  const matrix = rows * cols * inner;
  for (let o = 0; o < outer; o++) {
    const xb = xAt + o * matrix;
    const ob = outAt + o * matrix;
    if (inner === 1) {
      // blocks: sequential writes down each output row, reads strided within a block that stays in cache
      for (let c0 = 0; c0 < cols; c0 += BLOCK) {
        const c1 = Math.min(c0 + BLOCK, cols);
        for (let r0 = 0; r0 < rows; r0 += BLOCK) {
          const r1 = Math.min(r0 + BLOCK, rows);
          for (let c = c0; c < c1; c++) {
            let dst = ob + c * rows + r0;
            let src = xb + r0 * cols + c;
            for (let r = r0; r < r1; r++) {
              heap[dst++] = heap[src];
              src += cols;
            }
          }
        }
      }
    } else {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const src = xb + (r * cols + c) * inner;
          heap.copyWithin(ob + (c * rows + r) * inner, src, src + inner);
        }
      }
    }
  }
}

/**
 * Kernel function replacing wasm `Transpose`: shares the buffer for a permutation that moves no data, swaps two
 * axis groups of a 4-byte tensor in JS, and runs the builtin for anything else.
 */
export function transposeWasm(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const perm = (args.attrs?.perm as number[] | undefined) ?? [...x.shape.keys()].reverse();
  const outShape = perm.map((p) => x.shape[p]);
  const plan = swapPlan(x.shape, perm);
  if (plan === 'noop') {
    (args.backend as RefCounted).incRef(x.dataId);
    return { dataId: x.dataId, shape: outShape, dtype: x.dtype };
  }
  // an inner run shorter than 4 elements: one copyWithin call per few bytes is slower than the builtin
  if (plan && (x.dtype === 'float32' || x.dtype === 'int32') && (plan.inner === 1 || plan.inner >= 4)) {
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(outShape, x.dtype);
    if (sizeOf(outShape) === 0) return out;
    // Views taken after the allocation (a heap growth detaches earlier ones).
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    const heap = new Int32Array(xv.buffer);
    swapInto(heap, wordOffset(xv), wordOffset(ov), plan);
    return out;
  }
  const builtin = originalKernel('Transpose', 'wasm');
  if (!builtin) throw new Error('the wasm backend has no Transpose kernel');
  return builtin.kernelFunc({ ...args, attrs: args.attrs ?? {} } as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}
