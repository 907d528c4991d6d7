import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  createRegistry,
  crossEntropy,
  defineAttack,
  type DefensePlugin,
  fromLayersModel,
  initBackend,
  InputError,
  UsageError,
  z,
} from '@parry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earlyStopping } from './early-stopping.js';
import { fgsmRs, warmupFactor } from './fgsm-rs.js';
import { reinitialize } from './init.js';
import { builtinDefenses, registerBuiltinDefenses } from './index.js';
import { createOptimizer } from './optimizer.js';
import { pgdAt } from './pgd-at.js';
import { gaussianNoise, labelSmoothing, smoothedCrossEntropy, weightDecay } from './regularizers.js';
import { scheduledRate } from './schedule.js';
import { train } from './trainer.js';
import { trades, tradesKl } from './trades.js';
import { listCheckpoints } from './checkpoint.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-defenses-'));

beforeAll(async () => {
  await initBackend();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const close = (a: number, b: number, tol = 1e-5) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

/** Three classes in [0, 1]^4. */
function blobs(n: number, seed: number) {
  return tf.tidy(() => {
    const y = tf.cast(tf.floor(tf.mul(tf.randomUniform([n], 0, 1, 'float32', seed), 3)), 'int32') as tf.Tensor1D;
    const x = tf.clipByValue(tf.add(tf.add(tf.mul(tf.oneHot(y, 4), 0.5), 0.25), tf.randomNormal([n, 4], 0, 0.1, 'float32', seed + 1)), 0, 1);
    return { x, y };
  });
}

function mlp(seed: number) {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }));
  m.add(tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }));
  return { m, model: fromLayersModel(m), weights: m.trainableWeights.map((w) => w.read() as tf.Variable) };
}

async function values(ts: readonly tf.Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => Array.from(await t.data())));
}

describe('hooks', () => {
  it('calls only the hooks a plugin has, in order, plugin by plugin', async () => {
    const calls: string[] = [];
    const recorder = (tag: string): DefensePlugin => ({
      kind: 'defense',
      modality: 'image',
      name: `test/${tag}`,
      summary: '',
      options: {},
      optionsSchema: z.object({}),
      setup: () => void calls.push(`${tag}:setup`),
      beforeEpoch: (c) => void calls.push(`${tag}:beforeEpoch${c.epoch}`),
      beforeStep: (c) => void calls.push(`${tag}:beforeStep${c.step}`),
      transformBatch: (b, c) => {
        calls.push(`${tag}:transformBatch${c.step}`);
        return b;
      },
      lossTerm: (_b, c) => {
        calls.push(`${tag}:lossTerm${c.step}`);
        return tf.scalar(0);
      },
      afterStep: (c) => void calls.push(`${tag}:afterStep${c.step}`),
      afterEpoch: (c) => void calls.push(`${tag}:afterEpoch${c.epoch}`),
    });
    const partial: DefensePlugin = { kind: 'defense', modality: 'image', name: 'test/partial', summary: '', options: {}, optionsSchema: z.object({}), afterStep: (c) => void calls.push(`partial:afterStep${c.step}`) };
    const data = blobs(8, 1);
    const { m, model, weights } = mlp(1);
    await train(model, data, { epochs: 2, batchSize: 4, learningRate: 0.01, seed: 0, defenses: [recorder('a'), partial, recorder('b')], weights });
    const step = (s: number) => [
      `a:beforeStep${s}`, `b:beforeStep${s}`, `a:transformBatch${s}`, `b:transformBatch${s}`, `a:lossTerm${s}`, `b:lossTerm${s}`,
      `a:afterStep${s}`, `partial:afterStep${s}`, `b:afterStep${s}`,
    ];
    const epoch = (e: number) => [`a:beforeEpoch${e}`, `b:beforeEpoch${e}`, ...step(0), ...step(1), `a:afterEpoch${e}`, `b:afterEpoch${e}`];
    expect(calls).toEqual(['a:setup', 'b:setup', ...epoch(1), ...epoch(2)]);
    m.dispose();
    tf.dispose([data.x, data.y]);
  });

  it('stops when afterEpoch says so and records who and why', async () => {
    const stopper: DefensePlugin = { kind: 'defense', modality: 'image', name: 'test/stop', summary: '', options: {}, optionsSchema: z.object({}), afterEpoch: (c) => (c.epoch === 2 ? { stop: true, reason: 'enough' } : undefined) };
    const data = blobs(8, 1);
    const { m, model, weights } = mlp(1);
    const r = await train(model, data, { epochs: 5, batchSize: 4, learningRate: 0.01, seed: 0, defenses: [stopper], weights });
    expect(r.epochs).toHaveLength(2);
    expect(r.stopped).toEqual({ epoch: 2, by: 'test/stop', reason: 'enough' });
    m.dispose();
    tf.dispose([data.x, data.y]);
  });
});

describe('loss terms', () => {
  it('TRADES: CE(clean) + beta * KL(f(x) || f(x\')) equals a hand-computed value on a linear model', async () => {
    // logits = x W, W = [[1, -1], [0.5, 2]]; x = [[1, 0], [0, 1]], x' = [[0.8, 0.3], [0.2, 0.7]], y = [0, 1], beta = 2
    const W = tf.tensor2d([[1, -1], [0.5, 2]]);
    const model = { ...fromLayersModel(mlp(1).m), logits: (x: tf.Tensor) => tf.matMul(x as tf.Tensor2D, W) as tf.Tensor2D };
    const x = tf.tensor2d([[1, 0], [0, 1]]);
    const xAdv = tf.tensor2d([[0.8, 0.3], [0.2, 0.7]]);
    const y = tf.tensor1d([0, 1], 'int32');
    const logits = model.logits(x);
    const plugin = trades({ beta: 2 });
    const term = plugin.lossTerm!({ x, y, clean: x, extras: { 'parry/trades:adv': xAdv }, logits }, { model } as any);
    const ce = tf.mean(crossEntropy(logits, y));
    const total = (await tf.add(ce, term).data())[0];

    const softmax = (v: number[]) => {
      const e = v.map(Math.exp);
      const s = e[0] + e[1];
      return e.map((t) => t / s);
    };
    const lin = (r: number[]) => [r[0] * 1 + r[1] * 0.5, r[0] * -1 + r[1] * 2];
    const rows = [[1, 0], [0, 1]];
    const adv = [[0.8, 0.3], [0.2, 0.7]];
    let ceSum = 0;
    let klSum = 0;
    rows.forEach((r, i) => {
      const p = softmax(lin(r));
      const q = softmax(lin(adv[i]));
      ceSum += -Math.log(p[[0, 1][i]]);
      klSum += p[0] * Math.log(p[0] / q[0]) + p[1] * Math.log(p[1] / q[1]);
    });
    close(total, ceSum / 2 + 2 * (klSum / 2));
    close((await tradesKl(logits, model.logits(xAdv)).data())[0], klSum / 2);
    tf.dispose([W, x, xAdv, y, logits, term, ce]);
  });

  it('TRADES: x\' stays in the eps-ball and bounds and raises the KL above the start', async () => {
    const data = blobs(16, 3);
    const { m, model } = mlp(2);
    const plugin = trades({ eps: 0.1, steps: 5, stepSize: 0.03 });
    const rngLike = { tfSeed: () => 5 } as any;
    const batch = await plugin.transformBatch!({ x: data.x, y: data.y, clean: data.x, extras: {} }, { model, rng: rngLike, counters: { gradientEvaluations: 0, forwardEvaluations: 0 } } as any);
    const adv = batch.extras['parry/trades:adv'];
    const maxDev = (await tf.max(tf.abs(tf.sub(adv, data.x))).data())[0];
    expect(maxDev).toBeLessThanOrEqual(0.1 + 1e-6);
    expect((await tf.min(adv).data())[0]).toBeGreaterThanOrEqual(0);
    const kl = (await tradesKl(model.logits(data.x), model.logits(adv)).data())[0];
    expect(kl).toBeGreaterThan(1e-4);
    tf.dispose(adv);
    m.dispose();
    tf.dispose([data.x, data.y]);
  });

  it('label smoothing: the first step\'s loss is the smoothed cross-entropy', async () => {
    const data = blobs(16, 4);
    const a = 0.2;
    const { m, model, weights } = mlp(3);
    const expected = (await smoothedCrossEntropy(model.logits(data.x), data.y, a).data())[0];
    const plain = (await tf.mean(crossEntropy(model.logits(data.x), data.y)).data())[0];
    const r = await train(model, data, { epochs: 1, batchSize: 16, learningRate: 1e-3, seed: 0, defenses: [labelSmoothing({ smoothing: a })], weights });
    close(r.epochs[0].loss, expected);
    expect(Math.abs(expected - plain)).toBeGreaterThan(1e-3);
    m.dispose();
    tf.dispose([data.x, data.y]);
  });

  it('weight decay: l2 adds 0.5 lambda ||w||^2 to the loss; decoupled shrinks w by (1 - lr lambda) after the step', async () => {
    const data = blobs(16, 5);
    const lambda = 0.3;
    const lr = 0.05;
    // l2: first-step loss = CE + 0.5 lambda sum w^2
    {
      const { m, model, weights } = mlp(4);
      const ce = (await tf.mean(crossEntropy(model.logits(data.x), data.y)).data())[0];
      const sq = (await tf.addN(weights.map((w) => tf.sum(tf.square(w)))).data())[0];
      const r = await train(model, data, { epochs: 1, batchSize: 16, learningRate: lr, seed: 0, optimizer: { kind: 'sgd', momentum: 0 }, defenses: [weightDecay({ rate: lambda, mode: 'l2' })], weights });
      close(r.epochs[0].loss, ce + 0.5 * lambda * sq);
      m.dispose();
    }
    // decoupled: loss unchanged, weights = (weights after the same step without decay) * (1 - lr lambda)
    const run = async (defenses: DefensePlugin<any>[]) => {
      const { m, model, weights } = mlp(4);
      const r = await train(model, data, { epochs: 1, batchSize: 16, learningRate: lr, seed: 0, optimizer: { kind: 'sgd', momentum: 0 }, defenses, weights });
      const w = await values(weights);
      m.dispose();
      return { loss: r.epochs[0].loss, w };
    };
    const plain = await run([]);
    const decayed = await run([weightDecay({ rate: lambda })]);
    close(decayed.loss, plain.loss, 1e-7);
    plain.w.forEach((ws, i) => ws.forEach((v, j) => close(decayed.w[i][j], v * (1 - lr * lambda), 1e-6)));
    tf.dispose([data.x, data.y]);
  });
});

describe('adversarial batches', () => {
  it('FGSM-RS, PGD-AT (built-in and with an attack plugin) and Gaussian noise stay in the ball and the bounds', async () => {
    const data = blobs(32, 6);
    const { m, model } = mlp(5);
    const seen: string[] = [];
    const nudge = defineAttack({
      name: 'test/nudge',
      summary: 'adds 2 eps (core must project it back)',
      norm: 'linf',
      mode: 'fixed-epsilon',
      needs: [],
      options: z.object({}),
      run: (_m, x, _c, ctx) => {
        seen.push(`eps ${ctx.epsilons.join()}`);
        return { adversarials: ctx.epsilons.map((e) => tf.add(x, 2 * e)) };
      },
    });
    const ctx = { model, rng: { tfSeed: () => 9, fork: () => ({ tfSeed: () => 9 }) }, counters: { gradientEvaluations: 0, forwardEvaluations: 0 } } as any;
    for (const [plugin, bound] of [
      [fgsmRs({ eps: 0.1 }), 0.1],
      [pgdAt({ eps: 0.1, steps: 3, stepSize: 0.05 }), 0.1],
      [pgdAt({ eps: 0.1, attack: nudge() }), 0.1],
      [gaussianNoise({ sigma: 0.05 }), 1],
    ] as const) {
      const b = await plugin.transformBatch!({ x: data.x, y: data.y, clean: data.x, extras: {} }, ctx);
      const dev = (await tf.max(tf.abs(tf.sub(b.x, data.x))).data())[0];
      expect(dev, plugin.name).toBeLessThanOrEqual(bound + 1e-6);
      expect(dev, plugin.name).toBeGreaterThan(0);
      expect((await tf.min(b.x).data())[0]).toBeGreaterThanOrEqual(0);
      expect((await tf.max(b.x).data())[0]).toBeLessThanOrEqual(1);
      b.x.dispose();
    }
    expect(seen).toEqual(['eps 0.1']);
    m.dispose();
    tf.dispose([data.x, data.y]);
  });

  it('FGSM-RS guard rolls back to the best epoch and stops when PGD accuracy collapses', async () => {
    const { m, model, weights } = mlp(6);
    const plugin = fgsmRs({ eps: 0.1, collapseDrop: 0.2 });
    const ctx = (epoch: number, robustAccuracy: number) => ({ model, epoch, epochs: 10, weights, metrics: { robustAccuracy } });
    expect(await plugin.afterEpoch!(ctx(1, 0.5))).toBeUndefined();
    const best = await values(weights);
    weights.forEach((w) => w.assign(tf.zerosLike(w)));
    expect(await plugin.afterEpoch!(ctx(2, 0.4))).toBeUndefined();
    const decision = await plugin.afterEpoch!(ctx(3, 0.05));
    expect(decision).toMatchObject({ stop: true, reason: expect.stringMatching(/catastrophic overfitting.*rolled back to epoch 1/) });
    expect(await values(weights)).toEqual(best);
    plugin.dispose!();
    m.dispose();
  });
});

describe('optimizer and schedules', () => {
  it('Adam matches tf.train.adam and SGD matches tf.train.momentum', async () => {
    for (const kind of ['adam', 'sgd'] as const) {
      const a = tf.variable(tf.tensor1d([1, -2, 3]));
      const b = tf.variable(tf.tensor1d([1, -2, 3]));
      const mine = createOptimizer(kind === 'adam' ? { kind } : { kind, momentum: 0.9 }, [a]);
      const ref = kind === 'adam' ? tf.train.adam(0.1) : tf.train.momentum(0.1, 0.9);
      const f = (v: tf.Variable) => () => tf.sum(tf.square(tf.sub(v, tf.tensor1d([0.5, 0.5, 0.5])))) as tf.Scalar;
      for (let i = 0; i < 5; i++) {
        tf.tidy(() => mine.apply(tf.variableGrads(f(a), [a]).grads, 0.1));
        tf.tidy(() => void ref.minimize(f(b), false, [b]));
      }
      const [va, vb] = await values([a, b]);
      va.forEach((v, i) => close(v, vb[i], 1e-5));
      mine.dispose();
      ref.dispose();
      tf.dispose([a, b]);
    }
  });

  it('schedules: cyclic peaks at 40%, piecewise divides by 10 at the milestones', () => {
    expect(scheduledRate('cyclic', 1, 0)).toBe(0);
    close(scheduledRate('cyclic', 1, 0.4), 1);
    close(scheduledRate('cyclic', 1, 0.7), 0.5);
    expect(scheduledRate('cyclic', 1, 1)).toBe(0);
    close(scheduledRate('piecewise', 1, 0.6), 0.1);
    close(scheduledRate('piecewise', 1, 0.8), 0.01);
    close(scheduledRate('cosine', 1, 0.5), 0.5);
    expect(scheduledRate('constant', 0.3, 0.9)).toBe(0.3);
  });
});

describe('train', () => {
  it('leaks no tensors across epochs or after training, with every plugin and checkpoints', async () => {
    const data = blobs(64, 7);
    const { m, model, weights } = mlp(7);
    const before = tf.memory().numTensors;
    const perEpoch: number[] = [];
    await train(model, data, {
      epochs: 3,
      batchSize: 16,
      learningRate: 0.01,
      seed: 1,
      schedule: 'cyclic',
      defenses: [fgsmRs({ eps: 0.1 }), pgdAt({ eps: 0.1, steps: 2, stepSize: 0.05 }), trades({ eps: 0.1, steps: 2, stepSize: 0.05, beta: 1 }), weightDecay(), weightDecay({ mode: 'l2' }), labelSmoothing(), gaussianNoise()],
      evalSet: data,
      robustEval: { eps: 0.1, steps: 2, n: 32 },
      earlyStop: 5,
      checkpointDir: path.join(tmp, 'leak'),
      weights,
      onEpoch: () => void perEpoch.push(tf.memory().numTensors),
    });
    expect(new Set(perEpoch).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(listCheckpoints(path.join(tmp, 'leak')).map((c) => c.epoch)).toEqual([1, 2, 3]);
    m.dispose();
    tf.dispose([data.x, data.y]);
  });

  it('refuses to resume with different settings, and names a corrupt checkpoint', async () => {
    const data = blobs(16, 8);
    const dir = path.join(tmp, 'mismatch');
    const { m, model, weights } = mlp(8);
    await train(model, data, { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 1, checkpointDir: dir, weights });
    await expect(train(model, data, { epochs: 1, batchSize: 8, learningRate: 0.02, seed: 1, checkpointDir: dir, resume: true, weights })).rejects.toThrow(UsageError);
    fs.appendFileSync(path.join(dir, 'epoch-0001', 'tensors.bin'), 'x');
    await expect(train(model, data, { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 1, checkpointDir: dir, resume: true, weights })).rejects.toThrow(InputError);
    m.dispose();
    tf.dispose([data.x, data.y]);
  });

  it('early stopping restores the best weights', async () => {
    const { m, model, weights } = mlp(9);
    const plugin = earlyStopping({ patience: 2 });
    const ctx = (epoch: number, testAccuracy: number) => ({ model, epoch, epochs: 10, weights, metrics: { testAccuracy } });
    await plugin.afterEpoch!(ctx(1, 0.9));
    const best = await values(weights);
    weights.forEach((w) => w.assign(tf.onesLike(w)));
    expect(await plugin.afterEpoch!(ctx(2, 0.8))).toBeUndefined();
    expect(await plugin.afterEpoch!(ctx(3, 0.85))).toMatchObject({ stop: true });
    expect(await values(weights)).toEqual(best);
    plugin.dispose!();
    m.dispose();
  });

  it('a run killed (SIGKILL) after a checkpoint and resumed ends exactly like an uninterrupted run', async () => {
    const child = path.join(here, '../test-fixtures/resume-child.mjs');
    const run = (args: string[]) =>
      new Promise<number | null>((resolve, reject) => {
        const p = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`child exited ${code}: ${err}`))));
      });
    const fullOut = path.join(tmp, 'full.json');
    await run([path.join(tmp, 'ck-full'), fullOut, '0', '0']);

    const ck = path.join(tmp, 'ck-killed');
    const killedOut = path.join(tmp, 'killed.json');
    const p = spawn(process.execPath, [child, ck, killedOut, '0', '1500'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => p.on('exit', (_c, sig) => resolve(sig)));
    const deadline = Date.now() + 120_000;
    while (listCheckpoints(ck).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    p.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const done = listCheckpoints(ck).length;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(6);
    expect(fs.existsSync(killedOut)).toBe(false);

    const resumedOut = path.join(tmp, 'resumed.json');
    await run([ck, resumedOut, '1', '0']);
    const full = JSON.parse(fs.readFileSync(fullOut, 'utf8'));
    const resumed = JSON.parse(fs.readFileSync(resumedOut, 'utf8'));
    expect(resumed.resumedFrom).toBe(done);
    expect(full.resumedFrom).toBe(0);
    expect(resumed.records).toHaveLength(6);
    expect(resumed.records).toEqual(full.records);
    expect(resumed.weights).toEqual(full.weights);
    expect(resumed.counters).toEqual(full.counters);
  });
});

describe('initialisation and warm-up', () => {
  it('torch init draws kernels and biases in +-1/sqrt(fan_in), repeatably', async () => {
    const a = mlp(1);
    const b = mlp(2);
    reinitialize(a.m, 'torch', 3);
    reinitialize(b.m, 'torch', 3);
    const [wa, wb] = [await values(a.weights), await values(b.weights)];
    expect(wa).toEqual(wb);
    const bounds = [1 / 2, 1 / 2, 1 / Math.sqrt(8), 1 / Math.sqrt(8)]; // dense 4->8 (kernel, bias), dense 8->3
    wa.forEach((w, i) => {
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bounds[i]);
      expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(bounds[i] / 3);
    });
    a.m.dispose();
    b.m.dispose();
  });

  it('eps warm-up ramps linearly per step and then stays at 1', () => {
    expect(warmupFactor(0, 0, 10)).toBe(1);
    close(warmupFactor(2, 0, 10), 1 / 20);
    close(warmupFactor(2, 9, 10), 0.5);
    expect(warmupFactor(2, 19, 10)).toBe(1);
    expect(warmupFactor(2, 100, 10)).toBe(1);
  });
});

describe('registry', () => {
  it('registers every built-in defense with namespaced names and listable options', () => {
    const r = registerBuiltinDefenses(createRegistry());
    expect(r.names('defense')).toEqual(
      [
        'parry/a2t', 'parry/early-stopping', 'parry/fgm', 'parry/fgsm-rs', 'parry/freelb', 'parry/gaussian-noise', 'parry/label-smoothing',
        'parry/pgd-at', 'parry/pgd-embed', 'parry/r-drop', 'parry/smart', 'parry/trades', 'parry/weight-decay',
      ],
    );
    expect(builtinDefenses).toHaveLength(13);
    expect(r.info('defense').filter((i) => i.facts.models === 'text').map((i) => i.name)).toEqual(['parry/a2t', 'parry/fgm', 'parry/freelb', 'parry/pgd-embed', 'parry/r-drop', 'parry/smart']);
    const info = r.info('defense').find((i) => i.name === 'parry/fgsm-rs')!;
    expect(info.options.find((o) => o.name === 'relAlpha')?.default).toBe(1.25);
    expect(r.create<DefensePlugin>('trades', { beta: 1 }, 'defense').options).toMatchObject({ beta: 1, eps: 0.3 });
    expect(() => r.create('trades', { betta: 1 }, 'defense')).toThrow(/unknown option "betta"/);
  });
});
