/**
 * Performance wrappers for the wasm `BatchMatMul` and `_FusedMatMul` kernels (tfjs-backend-wasm 4.22).
 *
 * The builtin kernels use XNNPACK only for a single (batch 1) product with no transpose flag. Otherwise they take a
 * naive loop, measured on this project's 2-vCPU box at 512x512x512: 10.5 ms plain, 140-284 ms with transposeA
 * and/or transposeB (every backward matMul has one), and 8x[256,256,256] batched 140 ms vs 14 ms as 8 single calls.
 * These wrappers:
 * - transpose flagged operands explicitly (wasm Transpose kernel) and call the kernel with no flags; `a @ b^T` with
 *   a shared `b` is taken as `(b @ a^T)^T` when that moves less data (see {@link transposedProduct});
 * - for a batched product whose right operand is shared (batch 1): fold the batch into the rows, one fast call;
 * - for a batched product with a batched right operand (`BatchMatMul` only): one fast call per batch entry
 *   (copying the operands' slices), unless the matrices are tiny, where the per-call overhead dominates.
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  input,
  originalKernel,
  sizeOf,
  transposeLastTwo,
  viewAs,
  type KernelArgs,
  type WasmBackendLike,
} from './kernel-utils.js';

/** Below this many multiply-adds per batch entry, the batched builtin is used as is (the per-call cost dominates). */
const MIN_MACS_PER_ENTRY = 32 * 32 * 32;

/** The builtin wasm BatchMatMul kernel function (the one our wrapper replaced, or the one registered now). */
export function originalBatchMatMul(): tf.KernelFunc {
  const k = originalKernel('BatchMatMul', 'wasm');
  if (!k) throw new Error('the wasm BatchMatMul kernel is not registered (import @tensorflow/tfjs-backend-wasm first)');
  return k.kernelFunc;
}

function originalFusedMatMul(): tf.KernelFunc {
  const k = originalKernel('_FusedMatMul', 'wasm');
  if (!k) throw new Error('the wasm _FusedMatMul kernel is not registered (import @tensorflow/tfjs-backend-wasm first)');
  return k.kernelFunc;
}

function single(out: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  if (Array.isArray(out)) throw new Error('matMul kernel returned several outputs');
  return out;
}

/** Broadcast of the two batch shapes (tf semantics: equal, or one of them 1), or undefined if incompatible. */
function broadcastBatch(a: number[], b: number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(Math.max(da, db));
  }
  return out;
}

/** Kernel function replacing wasm `BatchMatMul`. */
export function batchMatMulWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const orig = originalBatchMatMul();
  const a = input(args, 'a');
  const b = input(args, 'b');
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return single(orig(args));
  if (!transposeA && transposeB) {
    const viaTranspose = transposedProduct(backend, orig, a, b);
    if (viaTranspose) return viaTranspose;
  }
  const owned: tf.TensorInfo[] = [];
  try {
    let A = a;
    let B = b;
    if (transposeA) owned.push((A = transposeLastTwo('wasm', backend, a)));
    if (transposeB) owned.push((B = transposeLastTwo('wasm', backend, b)));
    const attrs = { transposeA: false, transposeB: false };
    const ra = A.shape.length;
    const rb = B.shape.length;
    const M = A.shape[ra - 2];
    const K = A.shape[ra - 1];
    const N = B.shape[rb - 1];
    const outerA = A.shape.slice(0, -2);
    const outerB = B.shape.slice(0, -2);
    const batchA = sizeOf(outerA);
    const batchB = sizeOf(outerB);
    const outer = broadcastBatch(outerA, outerB);
    if ((batchA <= 1 && batchB <= 1) || outer === undefined || B.shape[rb - 2] !== K || ra < 2 || rb < 2) {
      return single(orig({ inputs: { a: A, b: B }, backend, attrs }));
    }
    const outShape = [...outer, M, N];
    if (batchB === 1) {
      // Shared right operand: [batchA*M, K] x [K, N] in one call.
      const out = single(orig({ inputs: { a: viewAs(A, [1, batchA * M, K]), b: viewAs(B, [1, K, N]) }, backend, attrs }));
      out.shape = outShape;
      return out;
    }
    const batch = sizeOf(outer);
    const sameBatch = batchA === batchB || batchA === 1;
    if (!sameBatch || batch !== batchB || M * K * N < MIN_MACS_PER_ENTRY) {
      return single(orig({ inputs: { a: A, b: B }, backend, attrs }));
    }
    return perEntry(backend, orig, A, B, batchA, batch, M, K, N, outShape);
  } finally {
    for (const t of owned) backend.disposeData(t.dataId);
  }
}

/**
 * `a @ b^T` for a right operand shared by the batch (`b` is `[N, K]`, batch 1), computed as `(b @ a^T)^T` when
 * that moves less data: the direct way transposes `b` (N·K) and XNNPACK packs the fresh transpose (N·K again);
 * this way transposes `a` (M·K, M = all rows of a), packs that, and transposes the `[N, M]` product back (M·N).
 * The backward pass of a dense layer `x @ W` takes `dY @ W^T` with few rows (M = batch x tokens) and a large W:
 * measured (CPU time, 2-vCPU box) M 128 x W 768x3072: 38 ms direct, 23 ms this way; M 512: 101 vs 75 ms; M 512 x W
 * 768x768: equal, which is where the data moved is equal too. Same products, same sums over K.
 *
 * @returns the product, or undefined when the direct way moves less (or the shapes are not this case).
 */
function transposedProduct(backend: WasmBackendLike, orig: tf.KernelFunc, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | undefined {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2 || sizeOf(b.shape.slice(0, -2)) !== 1) return undefined;
  const K = a.shape[ra - 1];
  const N = b.shape[rb - 2];
  if (b.shape[rb - 1] !== K) return undefined;
  const rows = sizeOf(a.shape.slice(0, -1));
  if (!(2 * rows * K + rows * N < 2 * N * K)) return undefined;
  const outer = a.shape.slice(0, -2);
  // a batch of rank below b's gets b's leading 1s, as the broadcast does
  while (outer.length < rb - 2) outer.unshift(1);
  const attrs = { transposeA: false, transposeB: false };
  const owned: tf.TensorInfo[] = [];
  try {
    const aT = transposeLastTwo('wasm', backend, viewAs(a, [1, rows, K]));
    owned.push(aT);
    const cT = single(orig({ inputs: { a: viewAs(b, [1, N, K]), b: aT }, backend, attrs }));
    owned.push(cT);
    const out = transposeLastTwo('wasm', backend, cT);
    out.shape = [...outer, a.shape[ra - 2], N];
    return out;
  } finally {
    for (const t of owned) backend.disposeData(t.dataId);
  }
}

/** One fast (batch 1) product per batch entry; operand slices are copied out of the heap. */
function perEntry(
  backend: WasmBackendLike,
  orig: tf.KernelFunc,
  A: tf.TensorInfo,
  B: tf.TensorInfo,
  batchA: number,
  batch: number,
  M: number,
  K: number,
  N: number,
  outShape: number[],
): tf.TensorInfo {
  const attrs = { transposeA: false, transposeB: false };
  const out = backend.makeOutput(outShape, 'float32');
  try {
    const ai = batchA === 1 ? viewAs(A, [1, M, K]) : undefined;
    for (let i = 0; i < batch; i++) {
      // Fresh buffers every entry: the wasm kernel caches its XNNPACK operator (with the packed right operand)
      // by tensor id, so refilling one buffer would silently reuse the first entry's weights.
      const owned: tf.TensorInfo[] = [];
      try {
        let a = ai;
        if (!a) {
          a = backend.makeOutput([1, M, K], 'float32');
          owned.push(a);
        }
        const b = backend.makeOutput([1, K, N], 'float32');
        owned.push(b);
        if (!ai) backend.typedArrayFromHeap(a).set(backend.typedArrayFromHeap(A).subarray(i * M * K, (i + 1) * M * K));
        backend.typedArrayFromHeap(b).set(backend.typedArrayFromHeap(B).subarray(i * K * N, (i + 1) * K * N));
        const ri = single(orig({ inputs: { a, b }, backend, attrs }));
        owned.push(ri);
        // Views taken after the allocations above.
        backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(ri), i * M * N);
      } finally {
        for (const t of owned) backend.disposeData(t.dataId);
      }
    }
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  return out;
}

/** Kernel function replacing wasm `_FusedMatMul` (bias + activation fused; used by layers' dense). */
export function fusedMatMulWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const orig = originalFusedMatMul();
  const a = input(args, 'a');
  const b = input(args, 'b');
  const { bias, preluActivationWeights } = args.inputs;
  const attrs = args.attrs ?? {};
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length !== 3 || b.shape.length !== 3) {
    return single(orig(args));
  }
  const owned: tf.TensorInfo[] = [];
  try {
    let A = a;
    let B = b;
    if (transposeA) owned.push((A = transposeLastTwo('wasm', backend, a)));
    if (transposeB) owned.push((B = transposeLastTwo('wasm', backend, b)));
    const newAttrs = { ...attrs, transposeA: false, transposeB: false };
    const inputs: tf.NamedTensorInfoMap = { a: A, b: B };
    if (bias) inputs.bias = bias;
    if (preluActivationWeights) inputs.preluActivationWeights = preluActivationWeights;
    const [batchA, M, K] = A.shape;
    const [batchB, , N] = B.shape;
    if (batchA > 1 && batchB === 1 && !preluActivationWeights) {
      inputs.a = viewAs(A, [1, batchA * M, K]);
      const out = single(orig({ inputs, backend, attrs: newAttrs }));
      out.shape = [batchA, M, N];
      return out;
    }
    return single(orig({ inputs, backend, attrs: newAttrs }));
  } finally {
    for (const t of owned) backend.disposeData(t.dataId);
  }
}
