/**
 * Internal helpers for the kernel polyfills: the minimal backend surfaces the kernels touch, calls into other
 * registered kernels of the same backend, and bookkeeping for replaced kernels (so registration is idempotent and
 * reversible).
 *
 * Every polyfill works directly against the backend (heap views, `makeOutput`, other kernels' `kernelFunc`) and
 * frees each intermediate with `backend.disposeData`. No tf op is called from inside a kernel, so nothing is
 * registered with the engine except the kernel's own output, which is what keeps these kernels leak-free.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The subset of `BackendWasm` (tfjs-backend-wasm 4.22) the polyfills use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.BackendValues): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** The subset of `MathBackendCPU` (tfjs-backend-cpu 4.22) the polyfills use. */
export interface CpuBackendLike {
  readSync(dataId: tf.DataId): tf.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.BackendValues): tf.TensorInfo;
}

/** Arguments every kernel function receives. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}

/** The named input of a kernel call; throws if absent. */
export function input(args: KernelArgs, name: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`kernel input ${name} is missing`);
  return t;
}

/** Product of the dimensions (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The element index of a 4-byte heap view in an `Int32Array` over the whole heap. Not `byteOffset >> 2`: the wasm
 * heap grows past 2 GiB (BERT-base training), where a signed shift turns the offset negative.
 */
export function wordOffset(view: { byteOffset: number }): number {
  return view.byteOffset / 4;
}

/** A non-owning view of `info` with another shape (same data). Never dispose it; never return it from a kernel. */
export function viewAs(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** Runs the kernel registered now for `kernelName` on `backendName` and returns its single output. */
export function runKernel(
  kernelName: string,
  backendName: string,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, backendName);
  if (!kernel) throw new Error(`kernel ${kernelName} is not registered for backend ${backendName}`);
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned ${out.length} outputs, expected 1`);
  return out;
}

/** Swaps the last two axes with the backend's Transpose kernel. The caller owns (disposes) the result. */
export function transposeLastTwo(backendName: string, backend: object, x: tf.TensorInfo): tf.TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return runKernel('Transpose', backendName, backend, { x }, { perm });
}

const TAG = Symbol.for('parry.polyfill');

/**
 * Our registered kernel functions carry the config they replaced. Keeping it on the function (not in a module
 * variable) means a second copy of this module in the process (vitest isolation, two installs) still finds it,
 * since the tfjs kernel registry is global.
 */
interface TaggedKernelFunc extends tf.KernelFunc {
  [TAG]?: { original: tf.KernelConfig | undefined };
}

function tagOf(kernelName: string, backendName: string): { original: tf.KernelConfig | undefined } | undefined {
  const k = tf.getKernel(kernelName, backendName);
  return k ? (k.kernelFunc as TaggedKernelFunc)[TAG] : undefined;
}

/** True when the kernel registered now for `kernelName` on `backendName` is one of ours. */
export function isPolyfilled(kernelName: string, backendName: string): boolean {
  return tagOf(kernelName, backendName) !== undefined;
}

/** The kernel to delegate to: the one our polyfill replaced, or the one registered now if it is not ours. */
export function originalKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const tag = tagOf(kernelName, backendName);
  return tag ? tag.original : tf.getKernel(kernelName, backendName);
}

/**
 * Registers `kernelFunc` for `kernelName` on `backendName`, replacing (and remembering) whatever was registered.
 * A no-op returning false if our polyfill is already installed there, so it never wraps twice.
 * The replaced kernel's `setupFunc`/`disposeFunc` are kept so a delegating polyfill works after a backend re-init.
 */
export function installKernel(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): boolean {
  if (isPolyfilled(kernelName, backendName)) return false;
  const original = tf.getKernel(kernelName, backendName);
  const tagged: TaggedKernelFunc = (args) => kernelFunc(args);
  tagged[TAG] = { original };
  if (original) tf.unregisterKernel(kernelName, backendName);
  const config: tf.KernelConfig = { kernelName, backendName, kernelFunc: tagged };
  if (original?.setupFunc) config.setupFunc = original.setupFunc;
  if (original?.disposeFunc) config.disposeFunc = original.disposeFunc;
  tf.registerKernel(config);
  return true;
}

/** Removes our polyfill for `kernelName` on `backendName` and re-registers the replaced kernel, if there was one. */
export function uninstallKernel(kernelName: string, backendName: string): boolean {
  const tag = tagOf(kernelName, backendName);
  if (!tag) return false;
  tf.unregisterKernel(kernelName, backendName);
  if (tag.original) tf.registerKernel(tag.original);
  return true;
}

/** Kernel names currently polyfilled on `backendName` (sorted). */
export function polyfilledKernels(backendName: string): string[] {
  return tf
    .getKernelsForBackend(backendName)
    .filter((k) => (k.kernelFunc as TaggedKernelFunc)[TAG] !== undefined)
    .map((k) => k.kernelName)
    .sort();
}
