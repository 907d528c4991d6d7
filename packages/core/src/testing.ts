/**
 * Test kit for plugin authors (`@parry/core/testing`): a tiny model fixture and the conformance suite that every
 * attack, built-in or third-party, passes. Uses vitest (an optional peer dependency of @parry/core).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendName } from './backend.js';
import { criterionLabels, targeted, untargeted, type Criterion } from './criteria.js';
import { UsageError } from './errors.js';
import { fromFunction, type Classifier } from './model.js';
import type { ImageAttackPlugin, AttackRunOutput, PluginFactory } from './plugin.js';
import { guardPluginCall } from './plugin-guard.js';
import { createRng } from './rng.js';
import { checkRunOutput, disposeAttackResult, runAttack } from './run-attack.js';

export interface TinyClassifierOptions {
  seed?: number;
  /** Example shape, default [4, 4, 1]. */
  inputShape?: number[];
  numClasses?: number;
  hidden?: number;
  bounds?: [number, number];
}

/**
 * A small seeded MLP (flatten -> dense relu -> dense) as a `Classifier`. Weights are plain tensors owned by the
 * classifier; call `dispose()` when done.
 */
export function tinyClassifier(options: TinyClassifierOptions = {}): Classifier & { dispose(): void } {
  const { seed = 1, inputShape = [4, 4, 1], numClasses = 3, hidden = 12, bounds = [0, 1] } = options;
  const d = inputShape.reduce((a, b) => a * b, 1);
  const rng = createRng(seed);
  const w1 = tf.randomNormal([d, hidden], 0, 1.5 / Math.sqrt(d), 'float32', rng.tfSeed());
  const b1 = tf.randomNormal([hidden], 0, 0.1, 'float32', rng.tfSeed());
  const w2 = tf.randomNormal([hidden, numClasses], 0, 1.5 / Math.sqrt(hidden), 'float32', rng.tfSeed());
  const model = fromFunction(
    (x) => tf.tidy(() => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], d]), w1), b1)), w2), 0)),
    { name: 'tiny-mlp', inputShape, numClasses, bounds },
  );
  return { ...model, dispose: () => tf.dispose([w1, b1, w2]) };
}

/** Random inputs inside the bounds and the model's own predictions as labels (so clean accuracy is 100%). */
export function tinyBatch(model: Classifier, n: number, seed = 7): { x: tf.Tensor; labels: tf.Tensor1D } {
  return tf.tidy(() => {
    const x = tf.randomUniform([n, ...model.inputShape], model.bounds[0], model.bounds[1], 'float32', seed);
    return { x, labels: tf.argMax(model.logits(x), 1) as tf.Tensor1D };
  });
}

export interface ConformanceOptions {
  /** Options passed to the factory for the runs (default: the plugin's defaults). */
  options?: Record<string, unknown>;
  epsilons?: number[];
  batch?: number;
  seed?: number;
  backend?: BackendName | 'auto';
  /** Absolute tolerance for the ball and bounds checks (float32 rounding). */
  tolerance?: number;
}

function normOf(kind: string, d: Float32Array): number {
  let s = 0;
  for (const v of d) {
    const a = Math.abs(v);
    if (kind === 'linf') s = Math.max(s, a);
    else if (kind === 'l2') s += a * a;
    else if (kind === 'l1') s += a;
    else if (a > 0) s += 1;
  }
  return kind === 'l2' ? Math.sqrt(s) : s;
}

function argmaxRows(values: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length / k; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[i * k + j] > values[i * k + best]) best = j;
    out.push(best);
  }
  return out;
}

/**
 * One call of `attack.run` under the same plugin-call guard `runAttack` uses: resolves when the output is well formed
 * (one live float32 batch of the input's shape per epsilon, or one for minimization attacks), the inputs are still
 * alive, and no tensor is left behind besides the returned ones (which it disposes); otherwise rejects with the
 * `PluginError` line a user of the CLI would see. The conformance suite runs it; plugin authors can call it directly.
 */
export async function checkAttackCall(attack: ImageAttackPlugin<any>, model: Classifier, x: tf.Tensor, criterion: Criterion, epsilons: readonly number[], seed = 0): Promise<void> {
  const labels = criterionLabels(criterion);
  const expected = attack.mode === 'fixed-epsilon' ? epsilons.length : 1;
  const counters = { gradientEvaluations: 0, forwardEvaluations: 0 };
  const release = (o: AttackRunOutput) => tf.dispose((Array.isArray(o?.adversarials) ? o.adversarials : []).filter((t) => t instanceof tf.Tensor));
  const out = await guardPluginCall(attack.name, 'run()', () => attack.run(model, x, criterion, { epsilons, rng: createRng(seed), counters }), {
    inputs: { x, 'criterion labels': labels },
    validate: (o) => checkRunOutput(o, expected, x.shape),
    returned: (o) => o.adversarials,
    release,
  });
  release(out);
}

/**
 * Registers a vitest `describe` block with the checks every attack must pass: result shape and dtype, inside the
 * epsilon-ball and the bounds (both the attack's own output and the final result), success flags that agree with
 * the model, determinism with a seed, targeted mode when supported, option validation, and no leaked tensors.
 */
export function describeAttackConformance(factory: PluginFactory<ImageAttackPlugin<any>>, conformance: ConformanceOptions = {}): void {
  const { epsilons = [0.05, 0.3], batch = 6, seed = 3, tolerance = 1e-5 } = conformance;
  const attack = factory(conformance.options ?? {});
  const dim = (shape: readonly number[]) => shape.slice(1).reduce((a, b) => a * b, 1);
  const sweepEps = attack.norm === 'l0' ? epsilons.map((e) => Math.max(1, Math.round(e * 16))) : attack.norm === 'l1' || attack.norm === 'l2' ? epsilons.map((e) => e * 4) : epsilons;

  describe(`${attack.name} conformance`, () => {
    let model: Classifier & { dispose(): void };
    beforeAll(async () => {
      await initBackend({ backend: conformance.backend ?? 'auto' });
      model = tinyClassifier({ seed: 11 });
      return () => model.dispose();
    });

    const run = async (criterionKind: Criterion['kind'], runSeed = seed) => {
      const { x, labels } = tinyBatch(model, batch, 5);
      const tgt = tf.tidy(() => tf.cast(tf.mod(tf.add(labels, 1), model.numClasses), 'int32') as tf.Tensor1D);
      const criterion = criterionKind === 'untargeted' ? untargeted(labels) : targeted(tgt);
      const result = await runAttack(attack, model, x, criterion, { epsilons: sweepEps, seed: runSeed, batchSize: 4 });
      return { x, labels, tgt, criterion, result, dispose: () => { disposeAttackResult(result); tf.dispose([x, labels, tgt]); } };
    };

    it('returns one result per epsilon with the input shape and float32 dtype', async () => {
      const r = await run('untargeted');
      try {
        const expected = attack.mode === 'fixed-epsilon' ? sweepEps.length : sweepEps.length;
        expect(r.result.perEpsilon).toHaveLength(expected);
        for (const e of r.result.perEpsilon) {
          expect(e.adversarial.shape).toEqual(r.x.shape);
          expect(e.adversarial.dtype).toBe('float32');
          expect(e.success.shape).toEqual([batch]);
          expect(e.success.dtype).toBe('bool');
        }
      } finally {
        r.dispose();
      }
    });

    it("keeps the attack's own output inside the epsilon-ball and the bounds", async () => {
      const { x, labels } = tinyBatch(model, batch, 5);
      const counters = { gradientEvaluations: 0, forwardEvaluations: 0 };
      const out = await attack.run(model, x, untargeted(labels), { epsilons: sweepEps, rng: createRng(seed), counters });
      try {
        const xv = await x.data();
        const d = dim(x.shape);
        for (let i = 0; i < out.adversarials.length; i++) {
          const av = (await out.adversarials[i].data()) as Float32Array;
          for (let j = 0; j < av.length; j++) {
            expect(av[j]).toBeGreaterThanOrEqual(model.bounds[0] - tolerance);
            expect(av[j]).toBeLessThanOrEqual(model.bounds[1] + tolerance);
          }
          if (attack.mode === 'fixed-epsilon') {
            for (let b = 0; b < batch; b++) {
              const delta = new Float32Array(d);
              for (let j = 0; j < d; j++) delta[j] = av[b * d + j] - xv[b * d + j];
              expect(normOf(attack.norm, delta)).toBeLessThanOrEqual(sweepEps[i] * (1 + 1e-4) + tolerance);
            }
          }
        }
      } finally {
        tf.dispose([x, labels, ...out.adversarials]);
      }
    });

    it('reports success exactly where the model is fooled, within epsilon', async () => {
      const r = await run('untargeted');
      try {
        const xv = await r.x.data();
        const y = Array.from(await r.labels.data());
        const d = dim(r.x.shape);
        for (const e of r.result.perEpsilon) {
          const logits = tf.tidy(() => model.logits(e.adversarial));
          const pred = argmaxRows((await logits.data()) as Float32Array, model.numClasses);
          logits.dispose();
          const ok = Array.from(await e.success.data()).map(Boolean);
          const av = (await e.adversarial.data()) as Float32Array;
          for (let b = 0; b < batch; b++) {
            expect(ok[b]).toBe(pred[b] !== y[b]);
            const delta = new Float32Array(d);
            for (let j = 0; j < d; j++) delta[j] = av[b * d + j] - xv[b * d + j];
            if (Number.isFinite(e.epsilon)) expect(normOf(attack.norm, delta)).toBeLessThanOrEqual(e.epsilon * (1 + 1e-4) + tolerance);
          }
        }
      } finally {
        r.dispose();
      }
    });

    it('is deterministic with a seed', async () => {
      const a = await run('untargeted', 42);
      const b = await run('untargeted', 42);
      try {
        for (let i = 0; i < a.result.perEpsilon.length; i++) {
          expect(Array.from(await b.result.perEpsilon[i].adversarial.data())).toEqual(Array.from(await a.result.perEpsilon[i].adversarial.data()));
        }
      } finally {
        a.dispose();
        b.dispose();
      }
    });

    const supportsTargeted = attack.criteria.includes('targeted');
    const targetedName = `succeeds only where the target class is predicted (targeted mode)${supportsTargeted ? '' : ` (skipped: ${attack.name} supports ${attack.criteria.join(', ')} only)`}`;
    it.runIf(supportsTargeted)(targetedName, async () => {
      const r = await run('targeted');
      try {
        const t = Array.from(await r.tgt.data());
        for (const e of r.result.perEpsilon) {
          const logits = tf.tidy(() => model.logits(e.adversarial));
          const pred = argmaxRows((await logits.data()) as Float32Array, model.numClasses);
          logits.dispose();
          const ok = Array.from(await e.success.data()).map(Boolean);
          ok.forEach((s, b) => expect(s).toBe(pred[b] === t[b]));
        }
      } finally {
        r.dispose();
      }
    });

    it('rejects an unknown option with a UsageError', () => {
      expect(() => factory({ ...(conformance.options ?? {}), definitelyNotAnOption: 1 })).toThrow(UsageError);
    });

    it('passes the plugin-call guard: well-formed output, inputs left alive, no tensor left behind', async () => {
      const { x, labels } = tinyBatch(model, batch, 5);
      try {
        await checkAttackCall(attack, model, x, untargeted(labels), sweepEps, seed);
      } finally {
        tf.dispose([x, labels]);
      }
    });

    it('leaks no tensors', async () => {
      const warm = await run('untargeted');
      warm.dispose();
      const before = tf.memory().numTensors;
      const r = await run('untargeted');
      r.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

// The text half of the kit: toy text victim and resources, and the text-attack conformance suite.
export * from './testing-text.js';
