import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { initBackend } from './backend.js';
import { untargeted } from './criteria.js';
import { ParryError, UsageError } from './errors.js';
import { defineAttack, type ImageAttackPlugin } from './plugin.js';
import { guardPluginCall, guardPluginCallSync, PluginError } from './plugin-guard.js';
import { createRegistry } from './registry.js';
import { disposeAttackResult, runAttack } from './run-attack.js';
import { checkAttackCall, tinyBatch, tinyClassifier } from './testing.js';

let model: ReturnType<typeof tinyClassifier>;
beforeAll(async () => {
  await initBackend();
  model = tinyClassifier({ seed: 2 });
});
afterAll(() => model.dispose());

/** A fixed-epsilon attack whose run is `run`; the rest of the plugin is well formed. */
function hostile(name: string, run: ImageAttackPlugin['run']): ImageAttackPlugin {
  return {
    kind: 'attack',
    modality: 'image',
    name: `test/${name}` as const,
    summary: 'hostile',
    norm: 'linf',
    mode: 'fixed-epsilon',
    criteria: ['untargeted'],
    needs: ['scores'],
    options: {},
    optionsSchema: z.object({}),
    run,
  };
}

/** runAttack over 12 examples in batches of 4 with epsilons [0.1, 0.2]; returns the error it threw (or fails). */
async function failure(attack: ImageAttackPlugin): Promise<{ error: ParryError; batches: number; leftOver: number }> {
  const { x, labels } = tinyBatch(model, 12, 3);
  const before = tf.memory().numTensors;
  let batches = 0;
  try {
    const r = await runAttack(attack, model, x, untargeted(labels), { epsilons: [0.1, 0.2], batchSize: 4, onBatch: () => batches++ });
    disposeAttackResult(r);
  } catch (e) {
    return { error: e as ParryError, batches, leftOver: tf.memory().numTensors - before };
  } finally {
    tf.dispose([x, labels]);
  }
  throw new Error(`${attack.name}: runAttack did not fail`);
}

const clones = (x: tf.Tensor, n: number) => Array.from({ length: n }, () => x.clone());

describe('the plugin-call guard around attack run()', () => {
  it('an attack that leaks 50 tensors per batch is stopped at the first batch, naming the plugin and the count', async () => {
    const leaky = hostile('leaky', (_m, x, _c, ctx) => {
      for (let i = 0; i < 50; i++) tf.add(x, i); // never disposed
      return { adversarials: clones(x, ctx.epsilons.length) };
    });
    const { error, batches } = await failure(leaky);
    expect(error).toBeInstanceOf(PluginError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^plugin test\/leaky: run\(\) leaked 50 tensors /);
    expect(error.message).not.toContain('\n');
    expect(batches).toBe(0);
  });

  it('tensors the attack returns are the caller\'s, not a leak (also when it returns its input itself)', async () => {
    const honest = hostile('honest', (_m, x, _c, ctx) => ({ adversarials: ctx.epsilons.map((e) => tf.tidy(() => tf.add(x, e / 2))) }));
    const identity = hostile('identity', (_m, x, _c, ctx) => ({ adversarials: ctx.epsilons.map(() => x) }));
    for (const attack of [honest, identity]) {
      const { x, labels } = tinyBatch(model, 12, 3);
      const before = tf.memory().numTensors;
      const r = await runAttack(attack, model, x, untargeted(labels), { epsilons: [0.1, 0.2], batchSize: 4 });
      disposeAttackResult(r);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, labels]);
    }
  });

  const garbage: [string, ImageAttackPlugin['run'], RegExp][] = [
    ['an attack whose run() returns undefined', () => undefined as never, /^plugin test\/garbage: run\(\) returned undefined; it must return \{ adversarials: Tensor\[\] \}/],
    ['an attack whose run() returns [42]', () => [42] as never, /^plugin test\/garbage: run\(\) returned \[42\]; it must return \{ adversarials/],
    ['an attack whose run() returns a function', () => function multi() {
      return 1;
    } as never, /^plugin test\/garbage: run\(\) returned a function; it must return/],
    ['an attack whose run() returns adversarials that are not tensors', () => ({ adversarials: [42, 43] as never }), /^plugin test\/garbage: run\(\) returned adversarials\[0\] = number 42, not a tensor/],
    ['an attack whose run() returns a tensor of the wrong shape', (_m, x, _c, ctx) => ({ adversarials: ctx.epsilons.map(() => tf.zeros([x.shape[0], 2])) }), /^plugin test\/garbage: run\(\) returned adversarials\[0\] of shape \[4, 2\] for an input of shape \[4, 4, 4, 1\]/],
    ['an attack whose run() returns the wrong count', (_m, x) => ({ adversarials: [x.clone()] }), /^plugin test\/garbage: run\(\) returned 1 adversarial batch, expected 2 \(one per epsilon\)/],
    ['an attack whose run() throws', () => { throw new TypeError("Cannot read properties of undefined (reading 'shape')\n    at run (bad.mjs:3:9)"); }, /^plugin test\/garbage: run\(\) threw: Cannot read properties of undefined \(reading 'shape'\)$/],
    ['an attack whose run() rejects', async () => { throw new Error('boom'); }, /^plugin test\/garbage: run\(\) threw: boom$/],
    ['an attack whose run() disposes its input', (_m, x, _c, ctx) => { const a = clones(x, ctx.epsilons.length); x.dispose(); return { adversarials: a }; }, /^plugin test\/garbage: run\(\) disposed its input x; the caller owns/],
  ];
  for (const [what, run, message] of garbage) {
    it(`${what}: one line naming the plugin, exit 1, no tensor left behind`, async () => {
      const { error, leftOver } = await failure(hostile('garbage', run));
      expect(error).toBeInstanceOf(PluginError);
      expect(error.exitCode).toBe(1);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
      expect(leftOver).toBe(0);
    });
  }

  it('a UsageError an attack raises on purpose keeps its own line and exit code 2', async () => {
    const { error } = await failure(hostile('picky', () => { throw new UsageError('test/picky needs eps <= 0.05; pass --eps 0.05'); }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe('test/picky needs eps <= 0.05; pass --eps 0.05');
  });
});

describe('the conformance suite (@parry/core/testing) runs the same guard', () => {
  it('checkAttackCall fails a leaky attack, one that disposes its input and one that returns garbage, with the CLI\'s line', async () => {
    const { x, labels } = tinyBatch(model, 4, 3);
    const leaky = hostile('leaky', (_m, xb, _c, ctx) => {
      for (let i = 0; i < 50; i++) xb.clone();
      return { adversarials: clones(xb, ctx.epsilons.length) };
    });
    const disposer = hostile('disposer', (_m, xb, _c, ctx) => {
      const a = clones(xb, ctx.epsilons.length);
      xb.dispose();
      return { adversarials: a };
    });
    const honest = hostile('honest', (_m, xb, _c, ctx) => ({ adversarials: clones(xb, ctx.epsilons.length) }));
    await expect(checkAttackCall(leaky, model, x, untargeted(labels), [0.1, 0.2])).rejects.toThrow(/^plugin test\/leaky: run\(\) leaked 50 tensors/);
    await expect(checkAttackCall(hostile('garbage', () => [42] as never), model, x, untargeted(labels), [0.1])).rejects.toThrow(/^plugin test\/garbage: run\(\) returned \[42\]/);
    const before = tf.memory().numTensors;
    await checkAttackCall(honest, model, x, untargeted(labels), [0.1, 0.2]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(checkAttackCall(disposer, model, x, untargeted(labels), [0.1])).rejects.toThrow(/^plugin test\/disposer: run\(\) disposed its input x/);
    tf.dispose(labels);
  });
});

describe('guardPluginCall for defense hooks', () => {
  it('a hook that leaks is named with its count; state declared through getState() is not a leak', async () => {
    let state: tf.Tensor[] = [];
    const kept = () => state;
    // first call creates state, later calls replace it: never a leak
    for (let i = 0; i < 3; i++) {
      guardPluginCallSync('test/stateful', 'afterStep()', () => {
        tf.dispose(state);
        state = [tf.scalar(i), tf.scalar(i + 1)];
      }, { kept });
    }
    expect(() => guardPluginCallSync('test/leaky', 'beforeStep()', () => void tf.scalar(1), { kept: () => [] })).toThrow(/^plugin test\/leaky: beforeStep\(\) leaked 1 tensor /);
    await expect(guardPluginCall('test/leaky', 'transformBatch()', async () => { tf.scalar(1); tf.scalar(2); })).rejects.toThrow(/^plugin test\/leaky: transformBatch\(\) leaked 2 tensors /);
    tf.dispose(state);
  });

  it('a synchronous hook that returns a Promise is refused', () => {
    expect(() => guardPluginCallSync('test/async', 'beforeStep()', () => Promise.resolve())).toThrow(/^plugin test\/async: beforeStep\(\) returned a Promise/);
  });
});

describe('plugin factories under the guard', () => {
  const throwing = Object.assign(() => { throw new RangeError('Maximum call stack size exceeded'); }, { displayName: 'x' });
  it('a plugin factory that throws at registration is one line naming its source, exit 1', () => {
    const r = createRegistry();
    let error: unknown;
    try {
      r.register(throwing as never, '--plugin ./bad.mjs');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ParryError);
    expect((error as ParryError).exitCode).toBe(1);
    expect((error as Error).message).toMatch(/^--plugin \.\/bad\.mjs: the plugin factory threw: Maximum call stack size exceeded$/);
  });

  it('a plugin factory that throws for given options is one line naming the plugin, exit 1', () => {
    const fine = defineAttack({ name: 'test/moody', summary: 's', norm: 'linf', mode: 'fixed-epsilon', needs: [], options: z.object({ steps: z.number().default(1) }), run: (_m, x) => ({ adversarials: [x.clone()] }) });
    const moody = ((o?: { steps?: number }) => {
      if (o?.steps === 7) throw new Error('seven is unlucky');
      return fine(o);
    }) as typeof fine;
    const r = createRegistry([moody]);
    expect(() => r.create('moody', { steps: 7 })).toThrow(PluginError);
    expect(() => r.create('moody', { steps: 7 })).toThrow(/^plugin test\/moody: the factory threw for options \{"steps":7\}: seven is unlucky$/);
  });
});
