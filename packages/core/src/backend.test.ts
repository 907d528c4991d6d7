import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import os from 'node:os';
import { AUTO_THREADS_MIN_HIDDEN, chooseWasmThreads, describeBackend, getBackendInfo, initBackend } from './backend.js';
import { UsageError } from './errors.js';

const ALL_WASM = ['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'GatherV2', 'Identity', 'Sign', 'Slice', 'Sum', 'Transpose', 'UnsortedSegmentSum', '_FusedMatMul'];

describe('initBackend', { timeout: 30_000 }, () => {
  const saved = { backend: process.env.PARRY_BACKEND, threads: process.env.PARRY_THREADS };
  beforeEach(() => {
    delete process.env.PARRY_BACKEND;
    delete process.env.PARRY_THREADS;
  });
  afterEach(() => {
    delete process.env.PARRY_BACKEND;
    delete process.env.PARRY_THREADS;
  });
  afterAll(async () => {
    await initBackend({ backend: 'wasm' });
    if (saved.backend !== undefined) process.env.PARRY_BACKEND = saved.backend;
    if (saved.threads !== undefined) process.env.PARRY_THREADS = saved.threads;
  });

  it('auto picks wasm here and records why tensorflow was skipped', async () => {
    const info = await initBackend();
    expect(info.name).toBe('wasm');
    expect(info.requested).toBe('auto');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBe(1);
    expect(info.threadsReason).toBe('default');
    expect(describeBackend(info)).toBe('wasm, 1 thread (default)');
    expect(info.polyfills).toEqual(ALL_WASM);
    expect(info.tried.map((t) => t.backend)).toEqual(['tensorflow']);
    expect(info.tried[0].error).toMatch(/@tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /);
    expect(info.versions).toMatchObject({
      '@tensorflow/tfjs-core': '4.22.0',
      '@tensorflow/tfjs-backend-wasm': '4.22.0',
      node: process.versions.node,
    });
    expect(getBackendInfo()).toEqual(info);
  });

  it('is idempotent for the same request', async () => {
    const a = await initBackend({ backend: 'auto' });
    const b = await initBackend();
    expect(b).toEqual(a);
    const [c, d] = await Promise.all([initBackend({ backend: 'cpu' }), initBackend({ backend: 'cpu' })]);
    expect(d).toEqual(c);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('honours the backend option and registers the cpu polyfill', async () => {
    const info = await initBackend({ backend: 'cpu' });
    expect(info).toMatchObject({ name: 'cpu', requested: 'cpu', threads: 1, polyfills: ['UnsortedSegmentSum'], tried: [] });
    expect(info.versions['@tensorflow/tfjs-backend-cpu']).toBe('4.22.0');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('honours PARRY_BACKEND when the option is absent or auto, and the option over it', async () => {
    process.env.PARRY_BACKEND = 'cpu';
    expect((await initBackend()).name).toBe('cpu');
    expect((await initBackend({ backend: 'auto' })).name).toBe('cpu');
    expect((await initBackend({ backend: 'wasm' })).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects an unknown PARRY_BACKEND or thread count with a UsageError', async () => {
    process.env.PARRY_BACKEND = 'gpu';
    await expect(initBackend()).rejects.toThrow(UsageError);
    await expect(initBackend()).rejects.toThrow(/PARRY_BACKEND=gpu .*auto, tensorflow, wasm or cpu/);
    delete process.env.PARRY_BACKEND;
    process.env.PARRY_THREADS = 'many';
    await expect(initBackend()).rejects.toThrow(/PARRY_THREADS=NaN is not supported: use 1 or 2/);
    await expect(initBackend({ threads: 3 })).rejects.toThrow(UsageError);
  });

  it('throws a one-line UsageError for an explicit tensorflow backend that is not installed', async () => {
    const before = tf.getBackend();
    const err = await initBackend({ backend: 'tensorflow' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const message = (err as Error).message;
    expect(message).toMatch(/^backend tensorflow is not available: install @tensorflow\/tfjs-node/);
    expect(message).not.toContain('\n');
    expect(tf.getBackend()).toBe(before); // no silent fallback
    process.env.PARRY_BACKEND = 'tensorflow';
    await expect(initBackend()).rejects.toThrow(UsageError);
  });

  it('polyfills: false removes the polyfills, and the default brings them back', async () => {
    const off = await initBackend({ backend: 'wasm', polyfills: false });
    expect(off.polyfills).toEqual([]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    const on = await initBackend({ backend: 'wasm' });
    expect(on.polyfills).toEqual(ALL_WASM);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('re-selects when something else switched the backend in between', async () => {
    await initBackend({ backend: 'wasm' });
    await tf.setBackend('cpu');
    const info = await initBackend({ backend: 'wasm' });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('chooseWasmThreads: the automatic wasm thread count (issue 17)', () => {
  const min = AUTO_THREADS_MIN_HIDDEN;
  it('the threshold lies between the measured loss (hidden 128) and win (hidden 768)', () => {
    expect(min).toBeGreaterThan(128);
    expect(min).toBeLessThanOrEqual(768);
  });

  it('gives 2 threads at and above the threshold on 2+ cores, 1 below it', () => {
    expect(chooseWasmThreads({ workload: { hiddenSize: 768 }, cores: 2 })).toEqual({ threads: 2, reason: `auto: hidden size 768 >= ${min}` });
    expect(chooseWasmThreads({ workload: { hiddenSize: min }, cores: 16 }).threads).toBe(2);
    expect(chooseWasmThreads({ workload: { hiddenSize: min - 1 }, cores: 16 })).toEqual({ threads: 1, reason: `auto: hidden size ${min - 1} < ${min}` });
    expect(chooseWasmThreads({ workload: { hiddenSize: 128 }, cores: 2 }).threads).toBe(1);
  });

  it('keeps 1 thread on one core, for a sharded run, and without a workload', () => {
    expect(chooseWasmThreads({ workload: { hiddenSize: 768 }, cores: 1 })).toEqual({ threads: 1, reason: `auto: hidden size 768 >= ${min}, but 1 core` });
    expect(chooseWasmThreads({ workload: { hiddenSize: 768, sharded: true }, cores: 2 })).toEqual({ threads: 1, reason: 'auto: sharded run, the shards use the cores' });
    expect(chooseWasmThreads({ cores: 2 })).toEqual({ threads: 1, reason: 'default' });
  });

  it('an explicit option wins over PARRY_THREADS, and both over the automatic choice', () => {
    expect(chooseWasmThreads({ threads: 1, env: '2', workload: { hiddenSize: 768 }, cores: 2 })).toEqual({ threads: 1, reason: 'threads option' });
    expect(chooseWasmThreads({ env: '1', workload: { hiddenSize: 768 }, cores: 2 })).toEqual({ threads: 1, reason: 'PARRY_THREADS' });
    expect(chooseWasmThreads({ env: ' 2 ', workload: { hiddenSize: 128 }, cores: 2 })).toEqual({ threads: 2, reason: 'PARRY_THREADS' });
    expect(chooseWasmThreads({ threads: 2, workload: { hiddenSize: 128, sharded: true }, cores: 1 })).toEqual({ threads: 2, reason: 'threads option' });
    expect(chooseWasmThreads({ env: '', workload: { hiddenSize: 768 }, cores: 2 }).threads).toBe(2); // empty env: not set
  });

  it('refuses thread counts other than 1 and 2 from either source', () => {
    expect(() => chooseWasmThreads({ threads: 3 })).toThrow(/threads=3 is not supported: use 1 or 2/);
    expect(() => chooseWasmThreads({ threads: 1.5 })).toThrow(UsageError);
    expect(() => chooseWasmThreads({ env: '0', workload: { hiddenSize: 768 } })).toThrow(/PARRY_THREADS=0 is not supported/);
  });

  it('initBackend records the choice, and says when wasm already runs with another count', { timeout: 30_000 }, async () => {
    const saved = process.env.PARRY_THREADS;
    delete process.env.PARRY_THREADS;
    try {
      const small = await initBackend({ backend: 'wasm', workload: { hiddenSize: 128 } });
      expect(small.threads).toBe(1);
      expect(describeBackend(small)).toBe(`wasm, 1 thread (auto: hidden size 128 < ${min})`);
      expect(getBackendInfo()?.threadsReason).toBe(small.threadsReason);
      // the wasm module of this process started with 1 thread above: a later request for 2 cannot get them, and says so
      const big = await initBackend({ backend: 'wasm', workload: { hiddenSize: 768 } });
      const asked = chooseWasmThreads({ workload: { hiddenSize: 768 }, cores: os.availableParallelism() });
      expect(big.threads).toBe(1);
      expect(big.threadsReason).toBe(asked.threads === 1 ? asked.reason : `${asked.reason} asked 2; wasm was already started in this process`);
    } finally {
      if (saved !== undefined) process.env.PARRY_THREADS = saved;
    }
  });
});
