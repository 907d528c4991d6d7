/**
 * `Sign` for the wasm backend. tfjs-backend-wasm 4.22's builtin returns 0 for |x| below about 1.2e-7 (it compares
 * against a float epsilon), where cpu, TensorFlow and PyTorch return +-1. Every Linf attack and adversarial-training
 * step takes the sign of a gradient, so pixels with tiny gradients never moved and over-confident examples (whose
 * cross-entropy gradients are tiny everywhere) never moved at all. This kernel has no threshold: the cpu backend's
 * semantics (-1 below zero, 1 above, 0 for 0 and NaN), computed in place on the wasm heap.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { input, type KernelArgs, type WasmBackendLike } from './kernel-utils.js';

export function signWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = input(args, 'x');
  const out = backend.makeOutput(x.shape, x.dtype);
  // Views after the allocation: a heap growth would detach earlier ones.
  const o = backend.typedArrayFromHeap(out);
  const v = backend.typedArrayFromHeap(x);
  for (let i = 0, n = v.length; i < n; i++) {
    const a = v[i];
    o[i] = a < 0 ? -1 : a > 0 ? 1 : 0;
  }
  return out;
}
