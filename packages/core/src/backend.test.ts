import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getBackendInfo, initBackend } from './backend.js';
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
