/**
 * `Conv2DBackpropFilter` (the weight gradient of conv2d) for the wasm backend, which lacks it in tfjs 4.22.
 *
 * dW[kh,kw,ci,co] = sum over (b,oh,ow) of x[b, oh*sh - top + kh, ow*sw - left + kw, ci] * dy[b,oh,ow,co].
 * Written as one matrix product per chunk of the batch: colsT [K = fh*fw*Ci, N = B*OH*OW] (an im2col matrix,
 * built in JS straight into the wasm heap, transposed so no Transpose is needed) times dy [N, Co] with the fast
 * (XNNPACK, no transpose flags) BatchMatMul kernel. Chunks keep colsT under ~32 MB; partial sums are added in JS.
 * Any stride and padding ('same', 'valid', a number, explicit); dilation 1 (tfjs conv2d gradients require it).
 * NCHW inputs are transposed to NHWC first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { originalBatchMatMul } from './batch-mat-mul.js';
import { input, runKernel, viewAs, type KernelArgs, type WasmBackendLike } from './kernel-utils.js';

/** Largest im2col chunk, in float32 elements (32 MB). */
let maxColsElements = 1 << 23;

/**
 * Sets the largest im2col chunk (float32 elements); returns the previous value. For tests of the chunked path.
 * @internal
 */
export function setConv2DBackpropFilterChunkLimit(elements: number): number {
  const prev = maxColsElements;
  maxColsElements = elements;
  return prev;
}

type Shape4 = [number, number, number, number];

/** Kernel function for the wasm backend. */
export function conv2DBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const owned: tf.TensorInfo[] = [];
  try {
    let x = input(args, 'x');
    let dy = input(args, 'dy');
    if (dataFormat === 'NCHW') {
      x = runKernel('Transpose', 'wasm', backend, { x }, { perm: [0, 2, 3, 1] });
      owned.push(x);
      dy = runKernel('Transpose', 'wasm', backend, { x: dy }, { perm: [0, 2, 3, 1] });
      owned.push(dy);
    }
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter: float32 only');
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as Shape4,
      filterShape as Shape4,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    const { outChannels: Co, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    const K = fh * fw * C;
    const perImage = OH * OW;
    const chunk = Math.max(1, Math.min(B, Math.floor(maxColsElements / Math.max(1, K * perImage))));
    const matMul = originalBatchMatMul();

    // Valid ow range per kw: 0 <= ow*sw - left + kw < W.
    const owLo = new Int32Array(fw);
    const owHi = new Int32Array(fw);
    for (let kw = 0; kw < fw; kw++) {
      owLo[kw] = Math.max(0, Math.ceil((left - kw) / sw));
      owHi[kw] = Math.min(OW, Math.max(0, Math.ceil((W + left - kw) / sw)));
    }

    let total: Float32Array | undefined;
    let result: tf.TensorInfo | undefined;
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const nb = Math.min(chunk, B - b0);
      const Nc = nb * perImage;
      const chunkOwned: tf.TensorInfo[] = [];
      try {
        const colsT = backend.makeOutput([1, K, Nc], 'float32');
        chunkOwned.push(colsT);
        let dyChunk: tf.TensorInfo;
        if (nb === B) {
          dyChunk = viewAs(dy, [1, Nc, Co]);
        } else {
          dyChunk = backend.makeOutput([1, Nc, Co], 'float32');
          chunkOwned.push(dyChunk);
          const src = backend.typedArrayFromHeap(dy);
          backend.typedArrayFromHeap(dyChunk).set(src.subarray(b0 * perImage * Co, (b0 + nb) * perImage * Co));
        }
        // Heap views are taken after the last allocation (a heap growth detaches older views).
        const cv = backend.typedArrayFromHeap(colsT);
        const xv = backend.typedArrayFromHeap(x);
        fillColsT(cv, xv, { b0, nb, H, W, C, OH, OW, fh, fw, sh, sw, top, left, owLo, owHi });
        const part = matMul({ inputs: { a: colsT, b: dyChunk }, backend, attrs: { transposeA: false, transposeB: false } });
        if (Array.isArray(part)) throw new Error('BatchMatMul returned several outputs');
        if (nb === B) {
          result = part;
        } else {
          chunkOwned.push(part);
          const pv = backend.typedArrayFromHeap(part);
          if (!total) total = Float32Array.from(pv);
          else for (let i = 0; i < pv.length; i++) total[i] += pv[i];
        }
      } finally {
        for (const t of chunkOwned) backend.disposeData(t.dataId);
      }
    }
    if (!result) result = backend.makeOutput([1, K, Co], 'float32', undefined, total ?? new Float32Array(K * Co));
    result.shape = [...filterShape];
    return result;
  } finally {
    for (const t of owned) backend.disposeData(t.dataId);
  }
}

interface ColsGeometry {
  b0: number;
  nb: number;
  H: number;
  W: number;
  C: number;
  OH: number;
  OW: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
  owLo: Int32Array;
  owHi: Int32Array;
}

/** colsT[(kh*fw + kw)*C + c][n = (b*OH + oh)*OW + ow] = x[b0 + b, oh*sh - top + kh, ow*sw - left + kw, c] (0 outside). */
function fillColsT(cv: tf.TypedArray, xv: tf.TypedArray, g: ColsGeometry): void {
  const { b0, nb, H, W, C, OH, OW, fh, fw, sh, sw, top, left, owLo, owHi } = g;
  const Nc = nb * OH * OW;
  const imageStride = H * W * C;
  const swC = sw * C;
  cv.fill(0);
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const lo = owLo[kw];
      const hi = owHi[kw];
      if (lo >= hi) continue;
      for (let c = 0; c < C; c++) {
        const rowBase = ((kh * fw + kw) * C + c) * Nc;
        for (let b = 0; b < nb; b++) {
          const xImage = (b0 + b) * imageStride + c;
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh - top + kh;
            if (ih < 0 || ih >= H) continue;
            let src = xImage + (ih * W + lo * sw - left + kw) * C;
            let dst = rowBase + (b * OH + oh) * OW + lo;
            for (let ow = lo; ow < hi; ow++, src += swC, dst++) cv[dst] = xv[src];
          }
        }
      }
    }
  }
}
