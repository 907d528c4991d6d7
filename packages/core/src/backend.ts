/**
 * Backend selection for Parry: `tensorflow` (tfjs-node / tfjs-node-gpu, when installed) > `wasm` > `cpu`,
 * plus the kernel polyfills each backend needs (see `./polyfills/index.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './errors.js';
import { registerCpuPolyfills, registerWasmPolyfills, unregisterPolyfills } from './polyfills/index.js';

/** A TensorFlow.js backend Parry can run on. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Which backend to use. `'auto'` (default) tries `tensorflow`, then `wasm`, then `cpu`. When absent or `'auto'`,
   * the environment variable `PARRY_BACKEND` (`auto` | `tensorflow` | `wasm` | `cpu`) decides. A named backend
   * that cannot be initialised throws a `UsageError` instead of falling back.
   */
  backend?: BackendName | 'auto';
  /**
   * Threads for the wasm backend's XNNPACK kernels. Default 1, or the environment variable `PARRY_THREADS`.
   * Values above 1 are opt-in and use the threaded wasm build (`./wasm-threads.ts`); only 1 and 2 are accepted.
   * Experimental: results are identical, but it only pays off on idle cores (on a busy 2-vCPU box it was slower),
   * and it applies only if the wasm backend was not initialised yet in this process (`BackendInfo.threads` says).
   */
  threads?: number;
  /**
   * Register the kernel polyfills for the chosen backend (default true): on wasm the missing gradient kernels and
   * the faster matMul / conv-input-gradient kernels, on cpu the linear-time `UnsortedSegmentSum`. `false` removes
   * Parry's polyfills from that backend (for comparisons; training conv nets on wasm then fails).
   */
  polyfills?: boolean;
}

/** What {@link initBackend} chose and why. */
export interface BackendInfo {
  /** The active backend. */
  name: BackendName;
  /** What was asked for (`auto` or a backend name), after `PARRY_BACKEND` was applied. */
  requested: string;
  /**
   * Threads the backend's kernels use: wasm 1 or 2, cpu 1; for `tensorflow` (libtensorflow's own pool) the
   * machine's available parallelism.
   */
  threads: number;
  /** Kernel names Parry added or replaced on this backend. */
  polyfills: string[];
  /** Package versions: `@tensorflow/tfjs-core`, the backend's package, and `node`. */
  versions: Record<string, string>;
  /** Backends tried before the chosen one, with the reason each was skipped (first line of the error). */
  tried: Array<{ backend: string; error: string }>;
}

const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** Native tfjs-node packages, in order of preference. Kept in variables so TypeScript never resolves them. */
const NODE_PACKAGES: readonly string[] = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

let last: { key: string; info: BackendInfo } | undefined;
let pending: { key: string; promise: Promise<BackendInfo> } | undefined;

/** The result of the last successful {@link initBackend}, or undefined if none ran yet. */
export function getBackendInfo(): BackendInfo | undefined {
  return last ? cloneInfo(last.info) : undefined;
}

/**
 * Selects and initialises the TensorFlow.js backend and registers the kernel polyfills it needs.
 *
 * Order for `'auto'`: `tensorflow` (dynamic import of `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`;
 * neither is a dependency, install one to use it) > `wasm` > `cpu`. `PARRY_BACKEND` / `PARRY_THREADS` apply when
 * the options leave them open. Calling it again with the same request is cheap and returns the same result.
 * It also makes sure tfjs gradients are registered: `@tensorflow/tfjs-core` alone registers none in Node, so when
 * they are missing it imports `@tensorflow/tfjs-layers` (a peer dependency), which registers them all.
 *
 * @throws UsageError when a backend was named explicitly and cannot be initialised, or an option is invalid.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const requested = resolveRequested(options.backend);
  const threads = resolveThreads(options.threads);
  const polyfills = options.polyfills ?? true;
  const key = JSON.stringify([requested, threads, polyfills]);
  if (last && last.key === key && tf.getBackend() === last.info.name) return cloneInfo(last.info);
  if (pending && pending.key === key) return cloneInfo(await pending.promise);
  const promise = ensureGradients().then(() => select(requested, threads, polyfills));
  pending = { key, promise };
  try {
    const info = await promise;
    last = { key, info };
    return cloneInfo(info);
  } finally {
    if (pending?.promise === promise) pending = undefined;
  }
}

function cloneInfo(info: BackendInfo): BackendInfo {
  return {
    ...info,
    polyfills: [...info.polyfills],
    versions: { ...info.versions },
    tried: info.tried.map((t) => ({ ...t })),
  };
}

/**
 * tfjs-core's Node bundle registers no gradient functions (the union package and tfjs-layers do). Without them
 * every `tf.grad` fails with "gradient function not found". Import tfjs-layers when it is installed.
 */
async function ensureGradients(): Promise<void> {
  if (tf.getGradient('Neg') !== undefined) return;
  const spec = '@tensorflow/tfjs-layers';
  try {
    await import(spec);
  } catch {
    // Not installed: gradients stay the caller's business (e.g. import '@tensorflow/tfjs').
  }
}

function resolveRequested(option: InitBackendOptions['backend']): BackendName | 'auto' {
  if (option !== undefined && option !== 'auto') {
    if (!BACKENDS.includes(option)) {
      throw new UsageError(`backend ${String(option)} is unknown: use auto, tensorflow, wasm or cpu`);
    }
    return option;
  }
  const env = process.env.PARRY_BACKEND?.trim().toLowerCase();
  if (!env || env === 'auto') return 'auto';
  if (!(BACKENDS as readonly string[]).includes(env)) {
    throw new UsageError(`PARRY_BACKEND=${env} is not a backend: set it to auto, tensorflow, wasm or cpu`);
  }
  return env as BackendName;
}

function resolveThreads(option: number | undefined): number {
  let value: number | undefined = option;
  let source = 'threads';
  if (value === undefined) {
    const env = process.env.PARRY_THREADS?.trim();
    if (env) {
      value = Number(env);
      source = 'PARRY_THREADS';
    }
  }
  if (value === undefined) return 1;
  if (!Number.isInteger(value) || value < 1 || value > 2) {
    throw new UsageError(`${source}=${String(value)} is not supported: use 1 or 2`);
  }
  return value;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim() !== '') ?? msg).trim();
}

async function select(requested: BackendName | 'auto', threads: number, polyfills: boolean): Promise<BackendInfo> {
  const tried: BackendInfo['tried'] = [];
  const order = requested === 'auto' ? BACKENDS : [requested];
  for (const name of order) {
    try {
      const started = await start(name, threads, polyfills);
      return { name, requested, tried, ...started };
    } catch (e) {
      if (requested !== 'auto') throw new UsageError(unavailableMessage(name, e));
      tried.push({ backend: name, error: firstLine(e) });
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${tried.map((t) => `${t.backend}: ${t.error}`).join('; ')}`);
}

function unavailableMessage(name: BackendName, e: unknown): string {
  const why = firstLine(e);
  switch (name) {
    case 'tensorflow':
      return `backend tensorflow is not available: install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu with CUDA) at version ${tf.version_core}, or use backend wasm (${why})`;
    case 'wasm':
      return `backend wasm could not be initialised: use backend cpu, or check that @tensorflow/tfjs-backend-wasm ${tf.version_core} and its .wasm files are installed (${why})`;
    default:
      return `backend cpu could not be initialised: check that @tensorflow/tfjs-backend-cpu ${tf.version_core} is installed (${why})`;
  }
}

type Started = Pick<BackendInfo, 'threads' | 'polyfills' | 'versions'>;

async function start(name: BackendName, threads: number, polyfills: boolean): Promise<Started> {
  switch (name) {
    case 'tensorflow':
      return startTensorflow();
    case 'wasm':
      return startWasm(threads, polyfills);
    default:
      return startCpu(polyfills);
  }
}

function baseVersions(): Record<string, string> {
  return { '@tensorflow/tfjs-core': tf.version_core, node: process.versions.node };
}

async function activate(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`tf.getBackend() is ${tf.getBackend()} after setBackend('${name}')`);
}

/** Imports `spec` the normal way (from this package), then from the current directory (the user's project). */
async function importOptional(spec: string): Promise<unknown> {
  try {
    return await import(spec);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
    let resolved: string;
    try {
      resolved = createRequire(path.join(process.cwd(), 'noop.js')).resolve(spec);
    } catch {
      throw new Error(`Cannot find package '${spec}'`);
    }
    return import(pathToFileURL(resolved).href);
  }
}

function packageVersion(spec: string, mod: unknown): string {
  const v = (mod as { version?: Record<string, string> | string }).version;
  if (typeof v === 'string') return v;
  const short = spec.replace('@tensorflow/', '');
  if (v && typeof v[short] === 'string') return v[short];
  for (const base of [import.meta.url, pathToFileURL(path.join(process.cwd(), 'noop.js')).href]) {
    try {
      const req = createRequire(base);
      return (req(`${spec}/package.json`) as { version: string }).version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

async function startTensorflow(): Promise<Started> {
  const errors: string[] = [];
  for (const spec of NODE_PACKAGES) {
    try {
      const mod = await importOptional(spec);
      await activate('tensorflow');
      return {
        threads: os.availableParallelism(),
        polyfills: [],
        versions: { ...baseVersions(), [spec]: packageVersion(spec, mod) },
      };
    } catch (e) {
      errors.push(`${spec}: ${firstLine(e)}`);
    }
  }
  throw new Error(errors.join('; '));
}

async function startWasm(threads: number, polyfills: boolean): Promise<Started> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const active = polyfills ? registerWasmPolyfills() : (unregisterPolyfills('wasm'), []);
  if (threads > 1 && !isInitialised('wasm')) {
    const { activateThreadedWasm } = await import('./wasm-threads.js');
    await activateThreadedWasm(threads, () => activate('wasm'));
  } else {
    // An already initialised wasm backend keeps its thread pool: the wasm module loads once per process.
    await activate('wasm');
  }
  return {
    threads: wasm.getThreadsCount(),
    polyfills: active,
    versions: { ...baseVersions(), '@tensorflow/tfjs-backend-wasm': wasm.version_wasm },
  };
}

/** True when the engine already holds an initialised instance (tf.findBackend would initialise it). */
function isInitialised(name: string): boolean {
  return tf.engine().registry[name] != null;
}

async function startCpu(polyfills: boolean): Promise<Started> {
  const cpu = await import('@tensorflow/tfjs-backend-cpu');
  const active = polyfills ? registerCpuPolyfills() : (unregisterPolyfills('cpu'), []);
  await activate('cpu');
  return { threads: 1, polyfills: active, versions: { ...baseVersions(), '@tensorflow/tfjs-backend-cpu': cpu.version_cpu } };
}
