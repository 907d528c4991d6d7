import * as tf from '@tensorflow/tfjs-core';
import {
  type AttackCounters,
  type Classifier,
  createRng,
  crossEntropy,
  type DefensePlugin,
  type ImageDefensePlugin,
  type DefenseStepContext,
  guardPluginCall,
  guardPluginCallSync,
  isLiveTensor,
  logitsInBatches,
  type TrainBatch,
  UsageError,
} from '@parry/core';
import { pgdAccuracy, type RobustEvalOptions } from './adversarial.js';
import { checkpointPath } from './checkpoint.js';
import { earlyStopping } from './early-stopping.js';
import { checkLoopOptions, type EpochContext, type EpochOutcome, epochSeed, keptTensors, runEpochLoop } from './loop.js';
import { createOptimizer, type OptimizerConfig, type OptimizerKind, type TrainOptimizer } from './optimizer.js';
import { checkSchedule, learningRateAt, type ScheduleKind, type ScheduleOptions, scheduledRate } from './schedule.js';

export { learningRateAt, epochSeed };

/** A labelled set held as tensors by the caller: `x` `[n, ...]`, `y` int32 `[n]`. */
export interface LabelledTensors {
  x: tf.Tensor;
  y: tf.Tensor1D;
}

export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's batches (including every plugin's loss term). */
  loss: number;
  /** Clean accuracy on the first `trainEvalSize` training examples after the epoch. */
  trainAccuracy: number;
  /** Clean accuracy on the evaluation set (NaN without one). */
  testAccuracy: number;
  /** PGD accuracy on the first `robustEval.n` examples of the evaluation set, when `robustEval` is set. */
  robustAccuracy?: number;
  /** Learning rate at the epoch's last step. */
  learningRate?: number;
  /** Wall time of the epoch, training plus evaluation. */
  seconds: number;
  /** Wall time of the training steps alone. */
  trainSeconds?: number;
}

export interface StopInfo {
  epoch: number;
  /** Plugin that stopped training. */
  by: string;
  reason: string;
}

export interface AdversarialTrainOptions {
  epochs: number;
  batchSize: number;
  /** Base (peak) learning rate. */
  learningRate: number;
  seed: number;
  /** `adam` (default) or `sgd`, or a full config (betas, momentum, Nesterov). */
  optimizer?: OptimizerKind | OptimizerConfig;
  /** Learning-rate schedule over all steps (default constant). */
  schedule?: ScheduleKind;
  scheduleOptions?: ScheduleOptions;
  /** Defense / regularizer plugins, called in this order for every hook. */
  defenses?: readonly DefensePlugin<any>[];
  /** Held-out set evaluated after every epoch. */
  evalSet?: LabelledTensors;
  /** PGD evaluation on the first `n` examples of `robustEvalSet` (default `evalSet`) after every epoch (feeds FGSM-RS' guard and early stopping). */
  robustEval?: RobustEvalOptions;
  /** The held-out slice for `robustEval` (default `evalSet`). */
  robustEvalSet?: LabelledTensors;
  /** Examples of the training set used to measure training accuracy after each epoch (default 2000). */
  trainEvalSize?: number;
  /** Early stopping: patience in epochs, or the options of `earlyStopping`. */
  earlyStop?: number | { patience: number; monitor?: 'auto' | 'robustAccuracy' | 'testAccuracy'; minDelta?: number; restoreBest?: boolean };
  /** Write a checkpoint after every epoch to `<checkpointDir>/epoch-NNNN/`. */
  checkpointDir?: string;
  /** Continue from the newest checkpoint in `checkpointDir` (a fresh start when there is none). */
  resume?: boolean;
  /** Keep only the newest k checkpoints (default 0 = all). */
  keepCheckpoints?: number;
  /**
   * The variables the optimizer trains and checkpoints save: pass `layersModel.trainableWeights.map((w) => w.read())`.
   * Default: every trainable variable registered with the engine (fine for one model per process, no checkpoints needed).
   */
  weights?: readonly tf.Variable[];
  onBatch?: (info: { epoch: number; step: number; steps: number; loss: number }) => void;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
}

export interface TrainResult {
  epochs: EpochRecord[];
  /** Set when a plugin (FGSM-RS' guard, early stopping) stopped training. */
  stopped?: StopInfo;
  /** Epochs already done when this call started (0 for a fresh run). */
  resumedFrom: number;
  /** Every hyperparameter, the seed and each plugin with its resolved options (for the results file). */
  hyperparameters: Record<string, unknown>;
  counters: AttackCounters;
}

function checkPositiveInt(name: string, v: number): void {
  if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`${name} must be a positive integer, got ${v}`);
}

async function accuracyOf(model: Classifier, set: LabelledTensors, limit?: number): Promise<number> {
  const n = Math.min(limit ?? set.x.shape[0], set.x.shape[0]);
  const acc = tf.tidy(() => {
    const x = n < set.x.shape[0] ? tf.slice(set.x, 0, n) : set.x;
    const y = n < set.y.shape[0] ? tf.slice(set.y, 0, n) : set.y;
    const logits = logitsInBatches(model, x, 512);
    return tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(y, 'int32')), 'float32'));
  });
  const v = (await acc.data())[0];
  acc.dispose();
  return v;
}

/** Plugin options as JSON: attack plugins inside the options become `{ name, options }`. */
function describeOptions(options: unknown): unknown {
  if (options === null || typeof options !== 'object') return options;
  if (Array.isArray(options)) return options.map(describeOptions);
  const o = options as Record<string, unknown>;
  if ((o.kind === 'attack' || o.kind === 'defense') && typeof o.name === 'string') return { name: o.name, options: describeOptions(o.options) };
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, describeOptions(v)]));
}

/** What is wrong with the batch a `transformBatch` hook returned (one phrase), or undefined. */
function checkTransformedBatch(b: unknown, input: TrainBatch): string | undefined {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return `returned ${b === undefined ? 'undefined' : Array.isArray(b) ? 'an array' : String(b)}; it must return a batch { x, y, clean, extras } (the same one, or a new one)`;
  const o = b as Partial<TrainBatch>;
  for (const k of ['x', 'y', 'clean'] as const) {
    if (!isLiveTensor(o[k])) return `returned a batch whose ${k} is ${(o[k] as unknown) instanceof tf.Tensor ? 'a disposed tensor' : 'not a tensor'}`;
  }
  const { x, y } = o as TrainBatch;
  if (x.shape.slice(1).join() !== input.x.shape.slice(1).join()) return `returned a batch x of shape [${x.shape}] for examples of shape [${input.x.shape.slice(1)}]`;
  if (y.rank !== 1 || y.shape[0] !== x.shape[0]) return `returned a batch with ${x.shape[0]} examples but labels y of shape [${y.shape}]`;
  if (o.extras === null || typeof o.extras !== 'object' || Object.values(o.extras).some((t) => !isLiveTensor(t))) return 'returned a batch whose extras are not a record of live tensors';
  return undefined;
}

function checkDecision(d: unknown): string | undefined {
  if (d === undefined || d === null || d === false || d === 'stop') return undefined;
  if (typeof d === 'object' && (d as { stop?: unknown }).stop === true && typeof (d as { reason?: unknown }).reason === 'string') return undefined;
  return `returned ${JSON.stringify(d) ?? String(d)}; it must return nothing, 'stop', or { stop: true, reason: '...' }`;
}

function resolveOptimizer(o: AdversarialTrainOptions['optimizer']): OptimizerConfig {
  if (o == null) return { kind: 'adam' };
  return typeof o === 'string' ? { kind: o } : o;
}

/**
 * The training loop: seeded shuffling, a learning-rate schedule, Adam or SGD, defense plugins with optional hooks,
 * per-epoch evaluation (clean accuracy, and PGD accuracy on a held-out slice), early stopping, and a checkpoint after
 * every epoch from which `resume` continues bit-exactly.
 *
 * Determinism: the shuffles come from one stream seeded with `seed` (replayed on resume); every other random choice
 * derives from `(seed, epoch)` — one forked stream per step and per plugin, and the evaluation's seed — so a resumed
 * run repeats the shuffles and random starts of an uninterrupted one. The model's
 * weights are trained in place.
 */
export async function train(model: Classifier, data: LabelledTensors, options: AdversarialTrainOptions): Promise<TrainResult> {
  checkPositiveInt('epochs', options.epochs);
  checkPositiveInt('batch size', options.batchSize);
  if (!(options.learningRate > 0)) throw new UsageError(`learning rate must be > 0, got ${options.learningRate}`);
  const schedule = options.schedule ?? 'constant';
  checkSchedule(schedule, options.scheduleOptions);
  checkLoopOptions(options);
  const robustSet = options.robustEvalSet ?? options.evalSet;
  if (options.robustEval && !robustSet) throw new UsageError('robust evaluation needs an evaluation set');
  const optimizerConfig = resolveOptimizer(options.optimizer);
  const weights = [...(options.weights ?? Object.values(tf.engine().registeredVariables).filter((v) => v.trainable))];
  if (weights.length === 0) throw new UsageError('no trainable variables to train');
  for (const p of options.defenses ?? []) {
    if (p.modality === 'text') throw new UsageError(`${p.name} is a defense for text models; use it with \`parry train --model ...\` (trainText)`);
  }
  const plugins = [...(options.defenses ?? [])] as ImageDefensePlugin<any>[];
  if (options.earlyStop != null) {
    plugins.push(earlyStopping(typeof options.earlyStop === 'number' ? { patience: options.earlyStop } : options.earlyStop));
  }
  for (const p of plugins) {
    if (p.needs?.includes('gradients') && !model.capabilities.gradients) throw new UsageError(`${p.name} needs gradients but model "${model.name}" offers scores only`);
  }

  const n = data.x.shape[0];
  const steps = Math.ceil(n / options.batchSize);
  const totalSteps = steps * options.epochs;
  const hyperparameters: Record<string, unknown> = {
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    optimizer: createOptimizerConfigJson(optimizerConfig),
    schedule,
    scheduleOptions: options.scheduleOptions ?? {},
    seed: options.seed,
    nTrain: n,
    defenses: plugins.map((p) => ({ name: p.name, options: describeOptions(p.options) })),
    robustEval: options.robustEval ?? null,
    trainEvalSize: options.trainEvalSize ?? 2000,
  };
  const counters: AttackCounters = { gradientEvaluations: 0, forwardEvaluations: 0 };
  // Shuffles come from one stream over the run (as the original trainer did); on resume the completed epochs'
  // shuffles are replayed to reach the same position. Everything else per epoch comes from (seed, epoch).
  const shuffleRng = createRng(options.seed);
  const indices = Array.from({ length: n }, (_, i) => i);
  const optimizer = createOptimizer(optimizerConfig, weights);

  const runEpoch = async ({ epoch, rng }: EpochContext): Promise<EpochOutcome<EpochRecord, StopInfo>> => {
    const start = performance.now();
    const order = shuffleRng.shuffle(indices);
    const evalSeed = rng.tfSeed();
    for (const p of plugins) {
      if (p.beforeEpoch) await guardPluginCall(p.name, 'beforeEpoch()', () => p.beforeEpoch!({ model, epoch, epochs: options.epochs, weights, metrics: {} }), { kept: keptTensors(p) });
    }
    let lossSum = 0;
    let lr = options.learningRate;
    for (let step = 0; step < steps; step++) {
      const globalStep = (epoch - 1) * steps + step;
      lr = scheduledRate(schedule, options.learningRate, globalStep / totalSteps, options.scheduleOptions);
      const stepRng = rng.fork();
      const contexts: DefenseStepContext[] = plugins.map(() => ({ model, epoch, step, stepsPerEpoch: steps, globalStep, learningRate: lr, rng: stepRng.fork(), weights, counters }));
      const loss = await trainStep(model, data, order.slice(step * options.batchSize, (step + 1) * options.batchSize), plugins, contexts, optimizer, weights, lr);
      lossSum += loss;
      options.onBatch?.({ epoch, step: step + 1, steps, loss });
    }
    const trainSeconds = (performance.now() - start) / 1000;
    const record: EpochRecord = {
      epoch,
      loss: lossSum / steps,
      trainAccuracy: await accuracyOf(model, data, options.trainEvalSize ?? 2000),
      testAccuracy: options.evalSet ? await accuracyOf(model, options.evalSet) : Number.NaN,
      learningRate: lr,
      seconds: 0,
      trainSeconds,
    };
    if (options.robustEval && robustSet) {
      record.robustAccuracy = await pgdAccuracy(model, robustSet.x, robustSet.y, options.robustEval, evalSeed >>> 0);
    }
    const metrics: Record<string, number> = { loss: record.loss, trainAccuracy: record.trainAccuracy, testAccuracy: record.testAccuracy };
    if (record.robustAccuracy != null) metrics.robustAccuracy = record.robustAccuracy;
    for (const p of plugins) {
      if (!p.afterEpoch) continue;
      const decision = await guardPluginCall(p.name, 'afterEpoch()', () => p.afterEpoch!({ model, epoch, epochs: options.epochs, weights, metrics }), {
        kept: keptTensors(p),
        validate: checkDecision,
      });
      if (decision) return { record, stop: { epoch, by: p.name, reason: typeof decision === 'object' ? decision.reason : `${p.name} asked to stop` } };
    }
    return { record };
  };

  const r = await runEpochLoop<EpochRecord, StopInfo, { counters: AttackCounters }>({
    epochs: options.epochs,
    seed: options.seed,
    configKey: JSON.stringify(hyperparameters),
    checkpointDir: options.checkpointDir,
    resume: options.resume,
    keepCheckpoints: options.keepCheckpoints,
    weights: weights.map((w, i) => [`weights/${i}`, w] as const),
    optimizer,
    plugins,
    state: { save: () => ({ counters }), load: (s) => void Object.assign(counters, s.counters) },
    start: async (resumedFrom) => {
      for (const p of plugins) {
        if (p.setup) await guardPluginCall(p.name, 'setup()', () => p.setup!({ model, weights, epochs: options.epochs }), { kept: keptTensors(p) });
      }
      for (let e = 1; e <= resumedFrom; e++) shuffleRng.shuffle(indices);
    },
    runEpoch,
    onEpoch: options.onEpoch,
  });
  return { epochs: r.records, stopped: r.stopped, resumedFrom: r.resumedFrom, hyperparameters, counters };
}

/**
 * One optimizer step on the examples `ids`, through the plugins' step hooks (each with its own context):
 * `beforeStep` -> `transformBatch` -> loss with every `lossTerm` -> update -> `afterStep`. Returns the loss.
 */
async function trainStep(
  model: Classifier,
  data: LabelledTensors,
  ids: readonly number[],
  plugins: readonly ImageDefensePlugin<any>[],
  contexts: readonly DefenseStepContext[],
  optimizer: TrainOptimizer,
  weights: readonly tf.Variable[],
  learningRate: number,
): Promise<number> {
  plugins.forEach((p, i) => {
    if (p.beforeStep) guardPluginCallSync(p.name, 'beforeStep()', () => p.beforeStep!(contexts[i]), { kept: keptTensors(p) });
  });
  const owned = new Set<tf.Tensor>();
  const own = (b: TrainBatch) => {
    owned.add(b.x);
    owned.add(b.y);
    owned.add(b.clean);
    for (const t of Object.values(b.extras)) owned.add(t);
  };
  let lossT: tf.Scalar | undefined;
  try {
    let batch: TrainBatch = tf.tidy(() => {
      const idsT = tf.tensor1d(ids as number[], 'int32');
      const x = tf.gather(data.x, idsT);
      return { x, y: tf.gather(data.y, idsT) as tf.Tensor1D, clean: x, extras: {} };
    });
    own(batch);
    for (const [i, p] of plugins.entries()) {
      if (!p.transformBatch) continue;
      const input = batch;
      batch = await guardPluginCall(p.name, 'transformBatch()', () => p.transformBatch!(input, contexts[i]), {
        inputs: { 'batch.x': input.x, 'batch.y': input.y, 'batch.clean': input.clean, ...Object.fromEntries(Object.entries(input.extras).map(([k, t]) => [`batch.extras.${k}`, t])) },
        validate: (out) => checkTransformedBatch(out, input),
        returned: (out) => [out.x, out.y, out.clean, ...Object.values(out.extras)],
        release: (out) => {
          const o = out as Partial<TrainBatch> | undefined;
          if (o && typeof o === 'object') tf.dispose([o.x, o.y, o.clean, ...Object.values(o.extras ?? {})].filter((t): t is tf.Tensor => isLiveTensor(t) && !owned.has(t)));
        },
        kept: keptTensors(p),
      });
      own(batch);
    }
    const b = batch;
    lossT = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.logits(b.x, { training: true });
        let loss = tf.mean(crossEntropy(logits, b.y)) as tf.Scalar;
        for (const [i, p] of plugins.entries()) {
          if (!p.lossTerm) continue;
          // inside the tape's tidy: intermediates live until it ends, so only the result is checked here
          const term = guardPluginCallSync(p.name, 'lossTerm()', () => p.lossTerm!({ ...b, logits }, contexts[i]), {
            noLeakCheck: true,
            validate: (t) => (isLiveTensor(t) && t.rank === 0 ? undefined : `returned ${isLiveTensor(t) ? `a tensor of shape [${t.shape}]` : String(t)}; it must return a scalar tensor`),
          });
          loss = tf.add(loss, term);
        }
        return loss;
      }, weights as tf.Variable[]);
      optimizer.apply(grads, learningRate);
      return value;
    });
  } finally {
    tf.dispose([...owned]);
  }
  const loss = (await lossT.data())[0];
  lossT.dispose();
  plugins.forEach((p, i) => {
    if (p.afterStep) guardPluginCallSync(p.name, 'afterStep()', () => p.afterStep!({ ...contexts[i], loss }), { kept: keptTensors(p) });
  });
  return loss;
}

export function createOptimizerConfigJson(c: OptimizerConfig): Record<string, unknown> {
  if (c.kind === 'adamw') return { kind: 'adamw', beta1: c.beta1 ?? 0.9, beta2: c.beta2 ?? 0.999, epsilon: c.epsilon ?? 1e-7, weightDecay: c.weightDecay ?? 0.01 };
  return c.kind === 'adam'
    ? { kind: 'adam', beta1: c.beta1 ?? 0.9, beta2: c.beta2 ?? 0.999, epsilon: c.epsilon ?? 1e-7 }
    : { kind: 'sgd', momentum: c.momentum ?? 0.9, nesterov: c.nesterov ?? false };
}

export { checkpointPath };

// ---------------------------------------------------------------------------------------------------------------
// The original plain trainer's API, kept for callers (tests in @parry/attacks, the CLI benchmark): Adam, optional
// cosine schedule, no plugins.

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Learning-rate schedule over all steps: constant, or cosine decay to 0 (default constant). */
  schedule?: 'constant' | 'cosine';
  seed: number;
  /** Held-out set evaluated after every epoch. */
  evalSet?: LabelledTensors;
  /** Examples of the training set used to measure training accuracy after each epoch (default 2000). */
  trainEvalSize?: number;
  onBatch?: (info: { epoch: number; step: number; steps: number; loss: number }) => void;
  onEpoch?: (record: EpochRecord) => void;
}

/**
 * Plain supervised training with Adam and softmax cross-entropy (a thin wrapper over `train` with no plugins).
 * The model's weights are trained in place.
 */
export async function trainClassifier(model: Classifier, data: LabelledTensors, options: TrainOptions): Promise<EpochRecord[]> {
  const r = await train(model, data, { ...options, optimizer: 'adam', schedule: options.schedule ?? 'constant' });
  return r.epochs;
}
