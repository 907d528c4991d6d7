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
   * Threads for the wasm backend's XNNPACK kernels. Default: the environment variable `PARRY_THREADS`, else the
   * automatic choice for `workload` ({@link chooseWasmThreads}), else 1.
   * Values above 1 use the threaded wasm build (`./wasm-threads.ts`); only 1 and 2 are accepted. Two threads pay off
   * for large matMuls on idle cores (BERT-base), not for small models or on a busy machine, and apply only if the wasm
   * backend was not initialised yet in this process (`BackendInfo.threads` and `threadsReason` say).
   */
  threads?: number;
  /**
   * What the run computes, for the automatic wasm thread count when neither `threads` nor `PARRY_THREADS` is given
   * (see {@link chooseWasmThreads}): a Transformer's hidden size, and whether the run is one shard of several.
   * Absent: 1 thread, as before.
   */
  workload?: ThreadWorkload;
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
  /**
   * Why that many threads, in a few words for the backend line a command prints: `threads option`, `PARRY_THREADS`,
   * `auto: hidden size 768 >= 512`, `default`; for cpu and tensorflow what fixes the count.
   */
  threadsReason: string;
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
  const choice = chooseWasmThreads({ threads: options.threads, env: process.env.PARRY_THREADS, workload: options.workload });
  const polyfills = options.polyfills ?? true;
  const key = JSON.stringify([requested, choice.threads, choice.reason, polyfills]);
  if (last && last.key === key && tf.getBackend() === last.info.name) return cloneInfo(last.info);
  if (pending && pending.key === key) return cloneInfo(await pending.promise);
  const promise = ensureGradients().then(() => select(requested, choice, polyfills));
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

/** The work a run does, as far as the automatic wasm thread count needs to know it. */
export interface ThreadWorkload {
  /** Hidden size of the Transformer the run trains or evaluates. */
  hiddenSize: number;
  /** The run is one shard of several (`--shard i/N`, a queue job). */
  sharded?: boolean;
}

/** How many wasm threads, and why (see {@link chooseWasmThreads}). */
export interface ThreadChoice {
  threads: number;
  reason: string;
}

/**
 * Smallest hidden size that gets 2 wasm threads by default. Measured on a 2-core machine, idle (docs/benchmarks.md,
 * "Transformer speed against PyTorch", 2026-12-06): BERT-base (hidden 768, 12 layers, batch 8 x 128) runs forward
 * 1.9x faster on 2 threads (5.57 s -> 2.98 s) and a training step 1.5x (20.3 s -> 13.9 s), while the 2 x 128 encoder
 * (batch 32 x 64) is slower on 2 (forward 49 -> 65 ms, step 257 -> 275 ms). XNNPACK threads only the matMul / conv
 * kernels, and a matMul's work grows with hidden^2, so the hidden size decides whether the second thread pays for its
 * synchronisation; the layer count does not (it repeats the same kernels). 512 sits between the measured loss (128)
 * and win (768), on the side of the win: sizes in between (256, 384) were not measured and keep the old default.
 */
export const AUTO_THREADS_MIN_HIDDEN = 512;

/**
 * The wasm thread count of a run, and why: `threads` (an explicit option, e.g. `--threads`) wins, then `env`
 * (`PARRY_THREADS`), then the automatic choice for the `workload`: 2 threads (at most the machine's `cores`) for a
 * Transformer of hidden size at or above {@link AUTO_THREADS_MIN_HIDDEN}, else 1. A sharded run keeps 1: its shards
 * are the parallelism (one process per core), and a queue worker initialises wasm once for all its jobs, so a per-job
 * choice could differ between the shards of one run, which `parry merge` refuses. No workload: 1 (`default`).
 *
 * @throws UsageError when `threads` or `env` is not 1 or 2.
 */
export function chooseWasmThreads(input: { threads?: number; env?: string; workload?: ThreadWorkload; cores?: number }): ThreadChoice {
  const check = (value: number, source: string) => {
    if (!Number.isInteger(value) || value < 1 || value > 2) throw new UsageError(`${source}=${String(value)} is not supported: use 1 or 2`);
    return value;
  };
  if (input.threads !== undefined) return { threads: check(input.threads, 'threads'), reason: 'threads option' };
  const env = input.env?.trim();
  if (env) return { threads: check(Number(env), 'PARRY_THREADS'), reason: 'PARRY_THREADS' };
  const w = input.workload;
  if (!w) return { threads: 1, reason: 'default' };
  const min = AUTO_THREADS_MIN_HIDDEN;
  if (w.sharded) return { threads: 1, reason: 'auto: sharded run, the shards use the cores' };
  if (!(w.hiddenSize >= min)) return { threads: 1, reason: `auto: hidden size ${w.hiddenSize} < ${min}` };
  const cores = input.cores ?? os.availableParallelism();
  if (cores < 2) return { threads: 1, reason: `auto: hidden size ${w.hiddenSize} >= ${min}, but 1 core` };
  return { threads: 2, reason: `auto: hidden size ${w.hiddenSize} >= ${min}` };
}

/** `wasm, 2 threads (auto: hidden size 768 >= 512)`: the backend line a command prints. */
export function describeBackend(info: Pick<BackendInfo, 'name' | 'threads' | 'threadsReason'>): string {
  return `${info.name}, ${info.threads} thread${info.threads === 1 ? '' : 's'} (${info.threadsReason})`;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim() !== '') ?? msg).trim();
}

async function select(requested: BackendName | 'auto', choice: ThreadChoice, polyfills: boolean): Promise<BackendInfo> {
  const tried: BackendInfo['tried'] = [];
  const order = requested === 'auto' ? BACKENDS : [requested];
  for (const name of order) {
    try {
      const started = await start(name, choice, polyfills);
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

type Started = Pick<BackendInfo, 'threads' | 'threadsReason' | 'polyfills' | 'versions'>;

async function start(name: BackendName, choice: ThreadChoice, polyfills: boolean): Promise<Started> {
  switch (name) {
    case 'tensorflow':
      return startTensorflow();
    case 'wasm':
      return startWasm(choice, polyfills);
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
        threadsReason: "libtensorflow's own pool",
        polyfills: [],
        versions: { ...baseVersions(), [spec]: packageVersion(spec, mod) },
      };
    } catch (e) {
      errors.push(`${spec}: ${firstLine(e)}`);
    }
  }
  throw new Error(errors.join('; '));
}

async function startWasm(choice: ThreadChoice, polyfills: boolean): Promise<Started> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const active = polyfills ? registerWasmPolyfills() : (unregisterPolyfills('wasm'), []);
  if (choice.threads > 1 && !isInitialised('wasm')) {
    const { activateThreadedWasm } = await import('./wasm-threads.js');
    await activateThreadedWasm(choice.threads, () => activate('wasm'));
  } else {
    // An already initialised wasm backend keeps its thread pool: the wasm module loads once per process.
    await activate('wasm');
  }
  const threads = wasm.getThreadsCount();
  return {
    threads,
    threadsReason: threads === choice.threads ? choice.reason : `${choice.reason} asked ${choice.threads}; wasm was already started in this process`,
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
  return { threads: 1, threadsReason: 'the cpu backend has one', polyfills: active, versions: { ...baseVersions(), '@tensorflow/tfjs-backend-cpu': cpu.version_cpu } };
}
