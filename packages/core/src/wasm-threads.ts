/**
 * Opt-in multi-threaded tfjs wasm backend in Node (tfjs-backend-wasm 4.22.0 exactly; it depends on that bundle's
 * internals). Out of the box the wasm backend is single-threaded in Node for three reasons:
 * 1. `WASM_HAS_MULTITHREAD_SUPPORT` is false whenever `IS_NODE` (tfjs issue #3830);
 * 2. the Emscripten glue hands its pthread workers Blob URLs (worker script and main script), which
 *    `node:worker_threads` cannot load, and the main-script Blob refers to rollup-renamed free variables;
 * 3. the C++ side caps threads at `emscripten_num_logical_cores() / 2` (= `os.cpus().length / 2`).
 * The shim: set the flag; record Blob text and write it to temp `.cjs` files (the main script with a prelude that
 * defines the renamed variables); a `Worker` subclass maps Blob URLs / Blob `load` messages to those files;
 * report 2x the thread count as logical cores during init. After init, the pool workers are unref'd (so the process
 * can exit) and `os.cpus` is restored. Measured: XNNPACK matMul/conv ~2x faster on 2 cores, results identical.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

const PRELUDE =
  "var commonjsGlobal=globalThis,_scriptDir;var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os');\n";

interface PThreadPool {
  unusedWorkers: Array<{ unref(): void }>;
  runningWorkers: Array<{ unref(): void }>;
}

/**
 * Initialises the wasm backend with `threads` XNNPACK threads. `activate` must run `tf.setBackend('wasm')` and
 * `tf.ready()`. Must be called before the wasm backend is initialised in this process. Returns the thread count
 * the backend reports.
 */
export async function activateThreadedWasm(threads: number, activate: () => Promise<void>): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  let ready = false;
  const realCpus = os.cpus;
  const NativeBlob = globalThis.Blob;
  const realCreate = URL.createObjectURL;
  const hadWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-wasm-mt-'));
  const texts = new WeakMap<Blob, string>();
  const files = new WeakMap<Blob, string>();
  const urlToFile = new Map<string, string>();
  let n = 0;

  class RecordingBlob extends NativeBlob {
    constructor(...args: ConstructorParameters<typeof Blob>) {
      super(...args);
      const parts = args[0] ?? [];
      texts.set(this, Array.from(parts, String).join(''));
    }
  }
  const toFile = (b: Blob): string => {
    let f = files.get(b);
    if (!f) {
      const text = texts.get(b) ?? '';
      f = path.join(dir, `blob${n++}.cjs`);
      fs.writeFileSync(f, (text.startsWith('var WasmBackendModuleThreadedSimd') ? PRELUDE : '') + text);
      files.set(b, f);
    }
    return f;
  };
  class PatchedWorker extends NodeWorker {
    constructor(url: string | URL, opts?: object) {
      super(urlToFile.get(String(url)) ?? url, opts);
      if (ready) this.unref();
    }
    override on(ev: string | symbol, fn: (...args: any[]) => void): this {
      super.on(ev, fn);
      if (ready) this.unref(); // Emscripten's 'message' listeners re-ref the worker
      return this;
    }
    override postMessage(msg: any, transfer?: any): void {
      if (msg && msg.cmd === 'load' && msg.urlOrBlob instanceof NativeBlob && texts.has(msg.urlOrBlob)) {
        msg = { ...msg, urlOrBlob: toFile(msg.urlOrBlob) };
      }
      super.postMessage(msg, transfer);
    }
  }

  os.cpus = () => {
    const c = realCpus();
    while (c.length < 2 * threads) c.push(c[0]);
    return c;
  };
  URL.createObjectURL = (b: Blob) => {
    const u = realCreate.call(URL, b);
    if (texts.has(b)) urlToFile.set(u, toFile(b));
    return u;
  };
  Object.defineProperty(globalThis, 'Worker', { get: () => PatchedWorker, set: () => {}, configurable: true });
  globalThis.Blob = RecordingBlob as typeof Blob;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  try {
    await activate();
  } finally {
    ready = true;
    os.cpus = realCpus;
    globalThis.Blob = NativeBlob;
    URL.createObjectURL = realCreate;
    const pool = (tf.backend() as unknown as { wasm?: { PThread?: PThreadPool } }).wasm?.PThread;
    if (pool) [...pool.unusedWorkers, ...pool.runningWorkers].forEach((w) => w.unref());
    // The pool's workers exist now; take the global Worker back out so nothing else mistakes Node for a browser.
    if (hadWorker) Object.defineProperty(globalThis, 'Worker', hadWorker);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
  return wasm.getThreadsCount();
}
