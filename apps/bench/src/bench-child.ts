/**
 * The bench's child processes: `train` (trains the Wong et al. MNIST CNN briefly and saves it) and one process per
 * variant (loads that model and times FGSM and PGD on it). Each prints one `RESULT_PREFIX` JSON line on stdout;
 * progress goes to stderr.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  type ImageAttackPlugin,
  type BackendInfo,
  type Classifier,
  ascentDirection,
  disposeAttackResult,
  fromLayersModel,
  initBackend,
  loadModel,
  lossAndGradient,
  mnistCnn,
  project,
  registerWasmPolyfills,
  runAttack,
  saveModel,
  untargeted,
} from '@parry/core';
import { fgsm, pgd } from '@parry/attacks';
import { type ImageDataset, toTensors } from '@parry/datasets';
import { trainClassifier } from '@parry/defenses';
import { imageAccuracy, loadImageData } from '@parry/pipelines';
import {
  type AttackMeasurement,
  type BackendSummary,
  type KernelRow,
  type StepProfile,
  type TrainResult,
  type VariantName,
  type VariantResult,
  RESULT_PREFIX,
} from './bench-types.js';

export const BATCH = 256;
export const EPS = 0.3;
export const STEP_SIZE = 0.01;
export const PGD_STEPS = 40;
const SEED = 0;

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

export function emit(result: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summary(info: BackendInfo): BackendSummary {
  return { name: info.name, threads: info.threads, polyfills: info.polyfills, versions: info.versions };
}

/**
 * Real MNIST from `dataDir` when its IDX files are there, else the embedded 10k subset (seed 0), through the
 * pipelines' loader; callers take the first examples they need (loading is never timed).
 */
export function loadData(dataDir: string): { data: ImageDataset; real: boolean } {
  if (fs.existsSync(path.join(dataDir, 't10k-images-idx3-ubyte.gz')) || fs.existsSync(path.join(dataDir, 't10k-images-idx3-ubyte'))) {
    return { data: loadImageData({ kind: 'mnist-idx', dir: dataDir }), real: true };
  }
  log(`no MNIST IDX files in ${dataDir}; using the embedded 10k subset`);
  return { data: loadImageData({ kind: 'embedded-mnist', seed: 0 }), real: false };
}

// ---------------------------------------------------------------------------------------------------------------
// train

export async function runTrain(args: { dataDir: string; modelDir: string; trainExamples: number; epochs: number }): Promise<TrainResult> {
  const info = await initBackend({ backend: 'wasm', polyfills: true, threads: 1 });
  const { data, real } = loadData(args.dataDir);
  const nTrain = Math.min(args.trainExamples, data.train.n);
  const train = toTensors(data.train, 0, nTrain);
  const test = toTensors(data.test, 0, Math.min(2000, data.test.n));
  const layers = mnistCnn({ seed: SEED });
  const classifier = fromLayersModel(layers, { bounds: [0, 1] });
  log(`training the Wong et al. CNN: ${args.epochs} epoch(s) on ${nTrain} ${real ? 'MNIST' : 'embedded MNIST'} images`);
  const t0 = performance.now();
  const records = await trainClassifier(classifier, { x: train.x, y: train.y }, {
    epochs: args.epochs,
    batchSize: 64,
    learningRate: 2e-3,
    seed: SEED,
    schedule: 'cosine',
    evalSet: { x: test.x, y: test.y },
    trainEvalSize: 500,
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const testAccuracy = records[records.length - 1]?.testAccuracy ?? NaN;
  log(`trained in ${trainSeconds.toFixed(1)} s, test accuracy ${(testAccuracy * 100).toFixed(1)}% (first ${test.x.shape[0]} test images)`);
  await saveModel(args.modelDir, layers, { bounds: [0, 1], training: { bench: true, epochs: args.epochs, examples: nTrain, testAccuracy } });
  tf.dispose([train.x, train.y, test.x, test.y]);
  return {
    kind: 'train',
    modelDir: args.modelDir,
    dataSource: real ? `MNIST IDX (${args.dataDir})` : data.source,
    realMnist: real,
    trainExamples: nTrain,
    epochs: args.epochs,
    trainSeconds,
    testAccuracy,
    backend: summary(info),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// variants

async function initVariant(variant: VariantName): Promise<BackendInfo> {
  switch (variant) {
    case 'wasm+polyfills':
      return initBackend({ backend: 'wasm', polyfills: true, threads: 1 });
    case 'wasm+polyfills-2threads':
      return initBackend({ backend: 'wasm', polyfills: true, threads: 2 });
    case 'wasm-no-perf-polyfills': {
      // A fresh process has no polyfills; `polyfills: false` keeps it that way, then only the missing kernels
      // (UnsortedSegmentSum, Conv2DBackpropFilter) are added: the builtin matMul / conv-input-gradient stay.
      const info = await initBackend({ backend: 'wasm', polyfills: false, threads: 1 });
      return { ...info, polyfills: registerWasmPolyfills({ performance: false }) };
    }
    case 'cpu':
      return initBackend({ backend: 'cpu', polyfills: true });
  }
}

interface MeasureOptions {
  classifier: Classifier;
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  attack: ImageAttackPlugin;
  attackName: 'fgsm' | 'pgd';
  label: string;
  steps: number;
  images: number;
  reps: number;
}

/** Warm-up (one batch, under tf.profile for the memory figures), then `reps` timed runs over `images` images. */
async function measure(o: MeasureOptions): Promise<AttackMeasurement> {
  const xs = tf.slice(o.x, 0, o.images) as tf.Tensor4D;
  const ys = tf.slice(o.y, 0, o.images) as tf.Tensor1D;
  const x1 = tf.slice(o.x, 0, BATCH) as tf.Tensor4D;
  const y1 = tf.slice(o.y, 0, BATCH) as tf.Tensor1D;
  try {
    // warm-up: one batch, profiled (kernel timing makes it slower, so it is never part of the timed runs)
    const beforeProfile = tf.memory().numTensors;
    let profiled: Awaited<ReturnType<typeof runAttack>> | undefined;
    const info = await tf.profile(async () => {
      profiled = await runAttack(o.attack, o.classifier, x1, untargeted(y1), { epsilons: [EPS], seed: SEED, batchSize: BATCH });
      return [];
    });
    const profile = {
      peakTensors: Math.max(...info.kernels.map((k) => k.totalTensorsSnapshot)),
      peakBytes: info.peakBytes,
      newTensors: info.newTensors,
      newBytes: info.newBytes,
      kernels: info.kernels.length,
    };
    if (profiled) disposeAttackResult(profiled);
    if (tf.memory().numTensors !== beforeProfile) log(`warning: ${tf.memory().numTensors - beforeProfile} tensors left after the warm-up`);

    const baselineTensors = tf.memory().numTensors;
    const repMs: number[] = [];
    const leakedTensors: number[] = [];
    let peakTensorsAtBatchEnd = 0;
    let robustAccuracy = NaN;
    for (let r = 0; r < o.reps; r++) {
      const before = tf.memory().numTensors;
      const t0 = performance.now();
      const result = await runAttack(o.attack, o.classifier, xs, untargeted(ys), {
        epsilons: [EPS],
        seed: SEED + r,
        batchSize: BATCH,
        onBatch: () => {
          peakTensorsAtBatchEnd = Math.max(peakTensorsAtBatchEnd, tf.memory().numTensors);
        },
      });
      const success = await result.perEpsilon[0].success.data();
      repMs.push(performance.now() - t0);
      if (r === 0) robustAccuracy = 1 - Array.from(success).reduce((s, v) => s + Number(v), 0) / success.length;
      disposeAttackResult(result);
      leakedTensors.push(tf.memory().numTensors - before);
      log(`  ${o.label} rep ${r + 1}/${o.reps}: ${(repMs[r] / 1000).toFixed(2)} s (${((o.images / repMs[r]) * 1000).toFixed(1)} img/s)`);
    }
    const medianMs = median(repMs);
    const batches = Math.ceil(o.images / BATCH);
    return {
      attack: o.attackName,
      label: o.label,
      steps: o.steps,
      images: o.images,
      batchSize: BATCH,
      batches,
      reps: o.reps,
      repMs,
      medianMs,
      imagesPerSecond: (o.images / medianMs) * 1000,
      bestImagesPerSecond: (o.images / Math.min(...repMs)) * 1000,
      msPerBatch: medianMs / batches,
      peakTensorsAtBatchEnd,
      baselineTensors,
      profile,
      leakedTensors,
      leak: leakedTensors.some((d) => d !== 0),
      robustAccuracy,
    };
  } finally {
    tf.dispose([xs, ys, x1, y1]);
  }
}

/** One PGD step at batch 256 (lossAndGradient + sign step + projection): unprofiled wall time, then kernel times. */
async function profileStep(classifier: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, repeats: number): Promise<StepProfile> {
  const x0 = tf.slice(x, 0, BATCH);
  const labels = tf.slice(y, 0, BATCH) as tf.Tensor1D;
  const criterion = untargeted(labels);
  const start = tf.tidy(() => project('linf', x0, tf.add(x0, tf.randomUniform(x0.shape, -EPS, EPS, 'float32', SEED)), EPS, classifier.bounds));
  const step = (): void => {
    const { loss, grad, logits } = lossAndGradient(classifier, start, criterion);
    const next = tf.tidy(() => project('linf', x0, tf.add(start, tf.mul(ascentDirection('linf', grad), STEP_SIZE)), EPS, classifier.bounds));
    next.dataSync();
    tf.dispose([loss, grad, logits, next]);
  };
  try {
    step(); // warm
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      step();
      times.push(performance.now() - t0);
    }
    // Profiled steps: kernel times per kernel name, averaged. Entries named `<op>__op` are scopes of custom-gradient
    // ops (fused matMul, logSoftmax) whose nested kernels are recorded too, so they are left out of the sums.
    const byName = new Map<string, { calls: number; totalMs: number }>();
    let kernelMs = 0;
    let scopeMs = 0;
    let kernelCalls = 0;
    let profiledWall = 0;
    const profiled = Math.max(1, Math.min(3, repeats));
    for (let i = 0; i < profiled; i++) {
      const t0 = performance.now();
      const info = await tf.profile(() => {
        step();
        return [];
      });
      profiledWall += performance.now() - t0;
      for (const k of info.kernels) {
        const ms = Number(await k.kernelTimeMs) || 0;
        if (k.name.endsWith('__op')) {
          scopeMs += ms;
          continue;
        }
        kernelMs += ms;
        kernelCalls++;
        const row = byName.get(k.name) ?? { calls: 0, totalMs: 0 };
        row.calls++;
        row.totalMs += ms;
        byName.set(k.name, row);
      }
    }
    const kernels: KernelRow[] = [...byName.entries()]
      .map(([name, r]) => ({ name, calls: r.calls / profiled, totalMs: r.totalMs / profiled, share: kernelMs > 0 ? r.totalMs / kernelMs : 0 }))
      .sort((a, b) => b.totalMs - a.totalMs);
    return {
      stepMs: median(times),
      profiledStepMs: profiledWall / profiled,
      kernelMs: kernelMs / profiled,
      scopeMs: scopeMs / profiled,
      kernels,
      kernelCalls: kernelCalls / profiled,
      profiledSteps: profiled,
    };
  } finally {
    tf.dispose([x0, labels, start]);
  }
}

export interface VariantArgs {
  variant: VariantName;
  dataDir: string;
  modelDir: string;
  /** Scale the amount of work (1 = the full bench; smaller for a quick check). */
  quick: boolean;
}

export async function runVariant(args: VariantArgs): Promise<VariantResult> {
  const t0 = performance.now();
  const loadavgStart = os.loadavg();
  const info = await initVariant(args.variant);
  log(`${args.variant}: backend ${info.name}, ${info.threads} thread(s), polyfills [${info.polyfills.join(', ')}]`);
  const cpu = args.variant === 'cpu';
  const nFgsm = cpu || args.quick ? BATCH : 4 * BATCH;
  const nPgd = cpu || args.quick ? BATCH : 2 * BATCH;
  const { data } = loadData(args.dataDir);
  const n = Math.min(Math.max(nFgsm, nPgd), data.test.n);
  const { x, y } = toTensors(data.test, 0, n);
  const loaded = await loadModel(args.modelDir);
  const classifier = loaded.classifier;
  try {
    const cleanAccuracy = await imageAccuracy(classifier, x, y);
    const attacks: AttackMeasurement[] = [];
    const reps = cpu ? 1 : args.quick ? 1 : 3;
    attacks.push(await measure({ classifier, x, y, attack: fgsm(), attackName: 'fgsm', label: 'FGSM', steps: 1, images: Math.min(nFgsm, n), reps }));
    if (!cpu) {
      const steps = args.quick ? 5 : PGD_STEPS;
      const attack = pgd({ steps, stepSize: STEP_SIZE, randomStart: true });
      attacks.push(await measure({ classifier, x, y, attack, attackName: 'pgd', label: `PGD-${steps}`, steps, images: Math.min(nPgd, n), reps }));
    } else {
      // cpu is ~30x slower: time PGD-2 and PGD-4 on one batch and extrapolate linearly to 40 steps
      const short = await measure({ classifier, x, y, attack: pgd({ steps: 2, stepSize: STEP_SIZE, randomStart: true }), attackName: 'pgd', label: 'PGD-2', steps: 2, images: BATCH, reps: 1 });
      const long = await measure({ classifier, x, y, attack: pgd({ steps: 4, stepSize: STEP_SIZE, randomStart: true }), attackName: 'pgd', label: 'PGD-4', steps: 4, images: BATCH, reps: 1 });
      const perStep = Math.max(0, (long.medianMs - short.medianMs) / 2);
      const est = short.medianMs + (PGD_STEPS - 2) * perStep;
      attacks.push({
        ...long,
        label: `PGD-${PGD_STEPS}`,
        steps: PGD_STEPS,
        repMs: [est],
        medianMs: est,
        imagesPerSecond: (BATCH / est) * 1000,
        bestImagesPerSecond: (BATCH / est) * 1000,
        msPerBatch: est,
        robustAccuracy: NaN,
        extrapolated: `PGD-2 ${(short.medianMs / 1000).toFixed(2)} s and PGD-4 ${(long.medianMs / 1000).toFixed(2)} s on 256 images -> ${perStep.toFixed(0)} ms per step, extrapolated to 40 steps`,
      });
    }
    const step = await profileStep(classifier, x, y, cpu ? 1 : 5);
    return {
      kind: 'variant',
      variant: args.variant,
      backend: summary(info),
      cleanAccuracy,
      cleanImages: n,
      attacks,
      step,
      seconds: (performance.now() - t0) / 1000,
      loadavgStart,
      loadavgEnd: os.loadavg(),
    };
  } finally {
    tf.dispose([x, y]);
    classifier.dispose?.();
  }
}
