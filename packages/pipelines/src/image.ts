/**
 * Image pipelines: train the small MNIST CNN (optionally with defenses) and save it with its training results;
 * evaluate a saved model (clean accuracy, then every attack at every epsilon) into a results file.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  type Classifier,
  type DefensePlugin,
  disposeAttackResult,
  fromLayersModel,
  guardOutput,
  type ImageAttackPlugin,
  loadModel,
  logitsInBatches,
  mnistCnn,
  type Registry,
  runAttack,
  saveModel,
  untargeted,
  UsageError,
  validateEpsilons,
  describeBackend,
} from '@parry/core';
import { toTensors } from '@parry/datasets';
import { type EpochRecord, type InitScheme, reinitialize, train } from '@parry/defenses';
import {
  type AttackSummary,
  correctMask,
  type ImageAttackEntry,
  perturbationSizes,
  reportDetails,
  type Results,
  type ResultsInput,
  type ShardSection,
  summarizeAttack,
  validateResults,
  writeResults,
} from '@parry/metrics';
import { attackOptionsFromPairs, createImageAttacks, type OptionsByPlugin } from './build-plugins.js';
import { type ImageDataRef, loadImageData } from './image-data.js';
import { createParryRegistry, type PluginLoaders, pluginRegistry } from './plugins.js';
import { checkRunName, hooksOf, pct, resultsHeader, type RunHooks, setupBackend } from './run.js';
import { type Journal, openJournal } from './journal.js';
import { mergeShardOutputs } from './merge.js';
import { imageDataSha256 } from './fingerprint.js';
import { checkShard, type ShardSpec, shardBlock } from './shard.js';

export interface TrainImageOptions extends RunHooks {
  /** MNIST IDX directory; default: the 10,000 embedded digits, split 8,000 / 2,000 with `seed`. */
  data?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule?: 'constant' | 'cosine' | 'cyclic' | 'piecewise';
  optimizer?: 'adam' | 'sgd';
  dropout?: number;
  seed: number;
  /** Model folder to write. */
  out: string;
  backend?: string;
  /** wasm kernel threads, 1 or 2 (`--threads`; default `PARRY_THREADS`, else 1: PGD-40 on the MNIST CNN ran slower on 2 threads). */
  threads?: number;
  /** Use at most this many training examples. */
  limit?: number;
  /** Image defense plugins (see `createDefenses`). */
  defenses?: DefensePlugin[];
  /** Epsilon of the per-epoch PGD evaluation, recorded with the defenses (default 0.3). */
  eps?: number;
  resume?: boolean;
  /** Replace `out` even when it is not a Parry model folder holding only Parry's files. */
  force?: boolean;
  checkpointDir?: string;
  /** PGD steps of the per-epoch robust evaluation (0 = none; default 10 with a defense, else 0). */
  evalPgdSteps?: number;
  /** Held-out examples for the per-epoch robust evaluation (the last n of the test split; default 1000). */
  evalPgdN?: number;
  earlyStop?: number;
  /** Weight initialisation: `he` (mnistCnn's He-normal, default) or `torch` (PyTorch's default, as in Wong et al.). */
  init?: 'he' | 'torch';
  /** The command line recorded in the results. */
  command?: readonly string[];
  /** Called after each epoch (e.g. to print it). */
  onEpoch?: (record: EpochRecord) => void;
}

export interface TrainImageOutcome {
  modelDir: string;
  resultsFile: string;
  results: Results;
  epochs: EpochRecord[];
  testAccuracy: number;
  /** Held-out examples the accuracy is measured on. */
  testN: number;
  /** PGD steps of the per-epoch robust evaluation (0: none). */
  evalPgdSteps: number;
}

/** Train the small MNIST CNN (Wong et al. 2020), optionally with defenses, and save it with its training curves. */
export async function trainImageModel(o: TrainImageOptions): Promise<TrainImageOutcome> {
  const { log, progress } = hooksOf(o);
  const defenses = o.defenses ?? [];
  for (const d of defenses) {
    if (d.modality === 'text') throw new UsageError(`--defense ${d.name} trains text models; use it with --model <family|folder> --data <text data>`);
  }
  const eps = o.eps ?? 0.3;
  if (!(eps >= 0)) throw new UsageError(`--eps must be >= 0, got ${eps}`);
  const schedule = o.schedule ?? 'cosine';
  const optimizer = o.optimizer ?? 'adam';
  const evalPgdSteps = o.evalPgdSteps ?? (defenses.length ? 10 : 0);
  const checkpointDir = o.checkpointDir ?? (o.resume || defenses.length ? `${o.out.replace(/[\\/]+$/, '')}.checkpoints` : undefined);

  const protect = [{ path: o.data, flag: '--data' }, { path: checkpointDir, flag: '--checkpoint-dir' }];
  guardOutput(o.out, { kind: 'image-model', force: o.force, protect });
  const ref: ImageDataRef = o.data ? { kind: 'mnist-idx', dir: path.resolve(o.data) } : { kind: 'embedded-mnist', seed: o.seed, testFraction: 0.2 };
  const backend = await setupBackend(o.backend, { threads: o.threads }); // no workload: image runs keep 1 thread unless asked
  const dataset = loadImageData(ref);
  const nTrain = Math.min(o.limit ?? dataset.train.n, dataset.train.n);
  const train_ = toTensors(dataset.train, 0, nTrain);
  const test = toTensors(dataset.test);
  const nRobust = Math.min(o.evalPgdN ?? 1000, dataset.test.n);
  const robustSet = evalPgdSteps > 0 ? toTensors(dataset.test, dataset.test.n - nRobust, dataset.test.n) : undefined;
  const layers = mnistCnn({ seed: o.seed, dropout: o.dropout ?? 0 });
  const init = o.init ?? 'he';
  reinitialize(layers, (init === 'he' ? 'keep' : init) as InitScheme, o.seed);
  const model = fromLayersModel(layers, { bounds: dataset.bounds, labelNames: dataset.labelNames });
  log(`training ${layers.name} on ${nTrain} ${dataset.name} digits (${dataset.source}), backend ${describeBackend(backend)}, seed ${o.seed}` + (defenses.length ? `, defenses ${defenses.map((d) => d.name).join(', ')} (eps ${eps})` : ''));
  try {
    const steps = Math.ceil(nTrain / o.batchSize);
    let bar: ReturnType<typeof progress> | undefined;
    const result = await train(model, { x: train_.x, y: train_.y }, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.lr,
      optimizer,
      schedule,
      seed: o.seed,
      defenses,
      evalSet: { x: test.x, y: test.y },
      robustEval: robustSet ? { eps, steps: evalPgdSteps, n: nRobust } : undefined,
      robustEvalSet: robustSet,
      earlyStop: o.earlyStop,
      checkpointDir,
      resume: o.resume,
      weights: layers.trainableWeights.map((w) => w.read() as tf.Variable),
      onBatch: ({ epoch, step, loss }) => {
        bar ??= progress(`epoch ${epoch}/${o.epochs}`, steps);
        bar.update(step, `loss ${loss.toFixed(4)}`);
      },
      onEpoch: (r) => {
        const robust = r.robustAccuracy != null ? `, PGD-${evalPgdSteps} acc ${pct(r.robustAccuracy)}` : '';
        const msg = `epoch ${r.epoch}/${o.epochs}: loss ${r.loss.toFixed(4)}, train acc ${pct(r.trainAccuracy)}, held-out acc ${pct(r.testAccuracy)}${robust} (${r.seconds.toFixed(1)} s)`;
        if (bar) bar.stop(msg);
        else log(msg);
        bar = undefined;
        o.onEpoch?.(r);
      },
    });
    if (result.resumedFrom > 0) log(`resumed from the checkpoint after epoch ${result.resumedFrom} in ${checkpointDir}`);
    if (result.stopped) log(`stopped after epoch ${result.stopped.epoch} by ${result.stopped.by}: ${result.stopped.reason}`);
    const epochs = result.epochs;
    const last = epochs[epochs.length - 1];
    // after a rollback (FGSM-RS guard, early stopping) the saved weights are not the last epoch's: measure them
    const finalTest = result.stopped ? await imageAccuracy(model, test.x, test.y) : last.testAccuracy;
    const hyperparameters: Record<string, unknown> = {
      ...result.hyperparameters,
      schedule,
      dropout: o.dropout ?? 0,
      init,
      eps: defenses.length ? eps : null,
      architecture: layers.name,
      backend: backend.name,
      threads: backend.threads,
      evalPgd: robustSet ? { steps: evalPgdSteps, n: nRobust, slice: `last ${nRobust} of the test split` } : null,
      earlyStop: o.earlyStop ?? null,
      checkpointDir: checkpointDir ?? null,
      resumedFrom: result.resumedFrom,
      stopped: result.stopped ?? null,
      gradientEvaluations: result.counters.gradientEvaluations,
      curves: epochs.map((e) => ({ epoch: e.epoch, learningRate: e.learningRate, trainSeconds: e.trainSeconds })),
    };
    if (!epochs.every((e) => Number.isFinite(e.loss)) || !Number.isFinite(finalTest)) {
      const bad = epochs.find((e) => !Number.isFinite(e.loss));
      throw new UsageError(`training diverged (loss ${bad ? `${bad.loss} in epoch ${bad.epoch}` : 'not finite'}): nothing was written to ${o.out}; lower --lr (now ${o.lr})`);
    }
    const resultsFile = path.join(o.out, 'train-results.json');
    const results: Results = validateResults({
      ...resultsHeader('train', o.command, o.seed),
      dataset: { name: dataset.name, source: dataset.source, split: 'test', n: dataset.test.n },
      model: imageModelInfo(model, o.out),
      clean: { accuracy: finalTest, n: dataset.test.n },
      attacks: [],
      training: {
        hyperparameters,
        epochs: epochs.map((e) => ({
          epoch: e.epoch,
          loss: e.loss,
          trainAccuracy: e.trainAccuracy,
          testAccuracy: e.testAccuracy,
          ...(e.robustAccuracy != null ? { robustAccuracy: e.robustAccuracy } : {}),
          seconds: e.seconds,
        })),
      },
    }, 'results to write');
    // the model and its training results appear together or not at all
    await saveModel(o.out, layers, {
      bounds: dataset.bounds,
      labelNames: dataset.labelNames,
      training: { dataset: ref, hyperparameters, testAccuracy: finalTest, backend: backend.name },
      extraFiles: { 'train-results.json': `${JSON.stringify(results, null, 2)}\n` },
      force: o.force,
      protect,
    });
    return { modelDir: o.out, resultsFile, results, epochs, testAccuracy: finalTest, testN: dataset.test.n, evalPgdSteps: robustSet ? evalPgdSteps : 0 };
  } finally {
    tf.dispose([train_.x, train_.y, test.x, test.y, ...(robustSet ? [robustSet.x, robustSet.y] : [])]);
    layers.dispose();
  }
}

/** Top-1 accuracy of a classifier on `x`, in batches of 512. */
export async function imageAccuracy(model: Classifier, x: tf.Tensor, y: tf.Tensor): Promise<number> {
  const acc = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < x.shape[0]; i += 512) parts.push(tf.argMax(model.logits(tf.slice(x, i, Math.min(512, x.shape[0] - i))), 1));
    return tf.mean(tf.cast(tf.equal(tf.concat(parts), tf.cast(y, 'int32')), 'float32'));
  });
  const v = (await acc.data())[0];
  acc.dispose();
  return v;
}

/** The `model` section of a results file for an image classifier. */
export function imageModelInfo(model: Classifier, modelPath?: string) {
  return {
    modality: 'image' as const,
    ...(modelPath !== undefined ? { path: modelPath } : {}),
    name: model.name,
    inputShape: [...model.inputShape],
    numClasses: model.numClasses,
    bounds: [...model.bounds] as [number, number],
    ...(model.labelNames ? { labelNames: [...model.labelNames] } : {}),
    outputKind: model.outputKind,
  };
}

export interface ImageRobustnessOptions extends RunHooks {
  epsilons: number[];
  seed?: number;
  batchSize?: number;
  /** Image examples kept per attack for the report's grid (default 8). */
  examples?: number;
  /**
   * Attack only examples `[start, end)` (a shard's block; `start` a multiple of the batch size): clean accuracy is still
   * measured on every example, and the outcome carries the exact per-example values `mergeResults` needs.
   */
  range?: { start: number; end: number };
  /** Clean correctness of every example, when already measured (skips the clean pass). */
  cleanCorrect?: boolean[];
}

/** What a shard keeps per image attack beyond its summary: the exact sizes of its fooled examples per epsilon. */
export interface ImageShardValues {
  perEpsilon: { linf: number[]; l2: number[] }[];
}

/** Clean accuracy, then every attack at every epsilon on (x, y): the image part of a results file. */
export async function imageRobustness(
  classifier: Classifier,
  x: tf.Tensor,
  y: tf.Tensor1D,
  attacks: readonly ImageAttackPlugin[],
  o: ImageRobustnessOptions,
): Promise<{ cleanAccuracy: number; n: number; summaries: AttackSummary[]; cleanCorrect: boolean[]; shardValues: ImageShardValues[] }> {
  const { log, progress } = hooksOf(o);
  const n = x.shape[0];
  const batchSize = o.batchSize ?? 256;
  let cleanCorrect = o.cleanCorrect;
  if (!cleanCorrect) {
    const logits = logitsInBatches(classifier, x, batchSize);
    cleanCorrect = await correctMask(logits, y);
    logits.dispose();
  }
  const cleanAccuracy = n ? cleanCorrect.filter(Boolean).length / n : 0;
  if (!o.cleanCorrect) log(`clean accuracy ${pct(cleanAccuracy)}`);
  const { start, end } = o.range ?? { start: 0, end: n };
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n && start % batchSize === 0)) {
    throw new UsageError(`range ${start}..${end} is not a block of whole batches of ${batchSize} within the ${n} examples`);
  }
  const whole = start === 0 && end === n;
  const xs = whole ? x : tf.slice(x, start, end - start);
  const ys = whole ? y : (tf.slice(y, start, end - start) as tf.Tensor1D);
  const correct = cleanCorrect.slice(start, end);
  const summaries: AttackSummary[] = [];
  const shardValues: ImageShardValues[] = [];
  try {
    for (const attack of attacks) {
      const bar = progress(`${attack.name}`, end - start);
      const result = await runAttack(attack, classifier, xs, untargeted(ys), {
        epsilons: o.epsilons,
        seed: o.seed ?? 0,
        batchSize,
        firstBatch: start / batchSize,
        onBatch: (done) => bar.update(done),
      });
      try {
        const summary = await summarizeAttack(xs, correct, result);
        const bits = await Promise.all(result.perEpsilon.map(async (e) => Array.from(await e.success.data()).map((v) => (v ? '1' : '0')).join('')));
        const details = await reportDetails(summary, classifier, xs, ys, correct, result, { examples: o.examples ?? 8 }); // sizes + image grid for the report
        summaries.push({ ...summary, ...details, successBits: bits } as AttackSummary);
        if (o.range) {
          // the exact sizes behind linf/l2 (the report's sizes are rounded), so a merge recomputes the unsharded stats
          const perEpsilon: ImageShardValues['perEpsilon'] = [];
          for (const e of result.perEpsilon) {
            const ok = await e.success.data();
            const sizes = await perturbationSizes(xs, e.adversarial);
            const keep = (v: number[]) => v.filter((_, i) => correct[i] && ok[i]);
            perEpsilon.push({ linf: keep(sizes.linf), l2: keep(sizes.l2) });
          }
          shardValues.push({ perEpsilon });
        }
        bar.stop(`${attack.name}: done in ${(result.wallTimeMs / 1000).toFixed(1)} s`);
      } finally {
        disposeAttackResult(result);
      }
    }
  } finally {
    if (!whole) tf.dispose([xs, ys]);
  }
  return { cleanAccuracy, n, summaries, cleanCorrect, shardValues };
}

/** Attack entries of a results file from image attack summaries (an unbounded epsilon is written as null). */
export function imageAttackEntries(summaries: readonly AttackSummary[]) {
  return summaries.map((s) => ({ ...s, modality: 'image' as const, perEpsilon: s.perEpsilon.map((e) => ({ ...e, epsilon: Number.isFinite(e.epsilon) ? e.epsilon : null })) }));
}

/** Where the registry comes from: a ready one, or the config file and `--plugin` modules loaded from `cwd`. */
export interface RegistrySource {
  /** A registry to use as it is (default: Parry's built-ins, unless `plugins` is given). */
  registry?: Registry;
  /** Default options per plugin (a config file's `defaults`), under the run's own options. */
  defaults?: OptionsByPlugin;
  /** Load `parry.config.*` from `cwd` and these plugin modules into a fresh registry (what `--plugin` does). */
  plugins?: { modules?: string[]; cwd?: string; loaders?: PluginLoaders };
}

/** The registry and config defaults of a run. */
export async function openRegistry(o: RegistrySource): Promise<{ registry: Registry; defaults: OptionsByPlugin }> {
  if (o.plugins) {
    const r = await pluginRegistry({ plugin: o.plugins.modules, cwd: o.plugins.cwd, loaders: o.plugins.loaders });
    return { registry: r.registry, defaults: { ...r.defaults, ...(o.defaults ?? {}) } };
  }
  return { registry: o.registry ?? createParryRegistry(), defaults: o.defaults ?? {} };
}

export interface EvaluateImageOptions extends RunHooks, RegistrySource {
  /** Model folder written by `trainImageModel` / `parry train`. */
  model: string;
  /** Attack names (default fgsm, pgd). */
  attacks?: string[];
  /** Options per attack (any name the registry resolves). */
  attackOptions?: OptionsByPlugin;
  /** `--opt <attack>.<key>=<value>` pairs, checked against `attacks`. */
  optionPairs?: string[];
  epsilons: number[];
  /** Held-out examples to attack (default 1000). */
  n?: number;
  seed?: number;
  batchSize?: number;
  /** Results file to write (atomically, validated). */
  out?: string;
  /** Replace `out` even when it exists and is not a Parry results file. */
  force?: boolean;
  /** MNIST IDX directory to evaluate on instead of the model's own held-out split. */
  data?: string;
  backend?: string;
  /** wasm kernel threads, 1 or 2 (`--threads`; default `PARRY_THREADS`, else 1: PGD-40 on the MNIST CNN ran slower on 2 threads). */
  threads?: number;
  command?: readonly string[];
  /** The run's name in results and reports (`--name`; default: the report names it after the model folder). */
  runName?: string;
  /** Attack only shard `index` of `count` (`--shard i/N`, see `shardBlock`); merge the shards' files with `mergeResults`. */
  shard?: ShardSpec;
  /** Image examples kept per attack for the report's grid (default 8). */
  examples?: number;
  /**
   * Keep a record journal of finished batches next to `out` (`<out>.records.jsonl`) and continue from it: a run killed
   * at any point and started again with the same options attacks only the batches it had not finished (`--resume`).
   */
  resume?: boolean;
}

/** A finished batch of one attack in the journal of a resumable image run. */
interface ImageBatchRecord {
  index: number;
  entry: ReturnType<typeof imageAttackEntries>[number];
  values: ImageShardValues;
}

/**
 * Every attack over every batch of (x, y), each finished batch appended to the journal and batches finished before
 * read from it; the batches are then merged like the shards of one run (`mergeShardOutputs`), which gives the
 * uninterrupted run's results. `results(attacks, shard)` builds the results of one batch.
 */
async function journaledImageRun(
  classifier: Classifier,
  x: tf.Tensor,
  y: tf.Tensor1D,
  attacks: readonly ImageAttackPlugin[],
  o: ImageRobustnessOptions & { batchSize: number; journal: Journal<ImageBatchRecord> },
  results: (entries: ImageBatchRecord['entry'][], shard: ShardSection) => ResultsInput,
): Promise<Results> {
  const { log, progress } = hooksOf(o);
  const n = x.shape[0];
  const unit = o.batchSize;
  const logits = logitsInBatches(classifier, x, unit);
  const cleanCorrect = await correctMask(logits, y);
  logits.dispose();
  log(`clean accuracy ${pct(n ? cleanCorrect.filter(Boolean).length / n : 0)}`);
  const count = Math.ceil(n / unit);
  const blocks = Array.from({ length: count }, (_, b) => ({ start: b * unit, end: Math.min(n, (b + 1) * unit) }));
  const done = attacks.map((_, k) => o.journal.done(k));
  for (const [k, attack] of attacks.entries()) {
    const before = done[k].size;
    if (before) log(`${attack.name}: ${before} of ${count} batches finished before, attacking the other ${count - before}`);
    const bar = progress(attack.name, n);
    let gradients = 0;
    for (const [b, range] of blocks.entries()) {
      if (!done[k].has(b)) {
        const r = await imageRobustness(classifier, x, y, [attack], { ...o, log: undefined, progress: undefined, range, cleanCorrect });
        const record: ImageBatchRecord = { index: b, entry: imageAttackEntries(r.summaries)[0], values: r.shardValues[0] };
        o.journal.append(k, record);
        done[k].set(b, record);
        gradients += record.entry.gradientEvaluations;
      }
      bar.update(range.end);
    }
    bar.stop(`${attack.name}: done; ${gradients} gradient evaluations by this process`);
  }
  const cleanBits = cleanCorrect.map((c) => (c ? '1' : '0')).join('');
  const imageExamples = Math.min(o.examples ?? 8, n);
  return mergeShardOutputs(
    blocks.map((range, b) => ({
      source: `batch ${b} of ${o.journal.file}`,
      results: validateResults(
        results(done.map((d) => d.get(b)!.entry), { index: b, count, total: n, ...range, unit, imageExamples, cleanBits, attacks: done.map((d) => d.get(b)!.values) }),
        `batch ${b} of ${o.journal.file}`,
      ),
    })),
  );
}

/**
 * Evaluate a saved image model: clean accuracy, then every attack at every epsilon on the held-out examples.
 * All inputs are checked before anything runs; the results file is written once, atomically, at the end.
 */
export async function evaluateImageModel(o: EvaluateImageOptions): Promise<{ results: Results; cleanAccuracy: number; summaries: AttackSummary[] }> {
  const { log } = hooksOf(o);
  const epsilons = validateEpsilons(o.epsilons, true);
  const runName = checkRunName(o.runName);
  if (o.out) guardOutput(o.out, { kind: 'results', force: o.force, protect: [{ path: o.model, flag: '--model' }, { path: o.data, flag: '--data' }] });
  const { registry, defaults } = await openRegistry(o);
  const names = o.attacks ?? ['fgsm', 'pgd'];
  const pairOptions = attackOptionsFromPairs(registry, names, o.optionPairs);
  const options: OptionsByPlugin = { ...(o.attackOptions ?? {}) };
  for (const [k, v] of Object.entries(pairOptions)) options[k] = { ...(options[k] ?? {}), ...v };
  const attacks = createImageAttacks(registry, names, options, defaults);
  const backend = await setupBackend(o.backend, { threads: o.threads }); // no workload: image runs keep 1 thread unless asked
  const { classifier, meta } = await loadModel(o.model);
  const training = (meta.training ?? {}) as { dataset?: ImageDataRef };
  const ref: ImageDataRef = o.data ? { kind: 'mnist-idx', dir: path.resolve(o.data) } : (training.dataset ?? { kind: 'embedded-mnist', seed: 0, testFraction: 0.2 });
  const seed = o.seed ?? 0;
  const batchSize = o.batchSize ?? 256;
  if (o.shard) checkShard(o.shard);
  if (o.resume && !o.out) throw new UsageError('--resume keeps its record journal next to the results file; give --out');
  if (o.resume && o.shard) throw new UsageError('--resume and --shard cannot be combined for image models yet; re-run a killed shard from the start');
  try {
    const dataset = loadImageData(ref);
    const n = Math.min(o.n ?? 1000, dataset.test.n);
    const { x, y } = toTensors(dataset.test, 0, n);
    try {
      const range = o.shard ? shardBlock(o.shard, n, batchSize) : undefined;
      const part = o.shard && range ? `, shard ${o.shard.index}/${o.shard.count}: attacking examples ${range.start}..${range.end - 1}${range.end === range.start ? ' (none: more shards than batches)' : ''}` : '';
      log(`evaluating ${meta.name} on ${n} held-out ${dataset.name} digits, backend ${describeBackend(backend)}, seed ${seed}${part}`);
      // sha256: the weights (parry.json's checksum of weights.bin, verified by loadModel) and all n examples, also in a shard
      const model = { modality: 'image' as const, path: o.model, name: meta.name, ...(runName ? { runName } : {}), inputShape: meta.inputShape, numClasses: meta.numClasses, bounds: meta.bounds, sha256: meta.weightsSha256 };
      const dataset_ = { name: dataset.name, source: dataset.source, split: 'test', n, sha256: imageDataSha256(dataset.test, n) };
      if (o.resume && o.out) {
        const config = { model: o.model, data: ref, n, seed, batchSize, attacks: attacks.map((a) => ({ name: a.name, options: a.options })), epsilons, examples: o.examples ?? 8 };
        const journal = openJournal<ImageBatchRecord>(o.out, config, { resume: true });
        if (journal.resumed.records) log(`resuming: ${journal.resumed.records} finished batches read from ${journal.file}${journal.resumed.dropped ? ` (${journal.resumed.dropped} cut or damaged lines dropped)` : ''}`);
        let merged: Results;
        try {
          merged = await journaledImageRun(classifier, x, y as tf.Tensor1D, attacks, { ...o, epsilons, seed, batchSize, journal }, (entries, shard) => ({
            ...resultsHeader('eval', o.command, seed),
            dataset: dataset_,
            model,
            clean: { accuracy: [...shard.cleanBits!].filter((c) => c === '1').length / Math.max(1, n), n },
            attacks: entries,
            shard,
          }));
        } finally {
          journal.close();
        }
        const results = writeResults(o.out, merged);
        journal.remove(); // the results file holds every record now
        const summaries = results.attacks.map((a) => ({ ...a, perEpsilon: (a as ImageAttackEntry).perEpsilon.map((e) => ({ ...e, epsilon: e.epsilon ?? Number.POSITIVE_INFINITY })) })) as AttackSummary[];
        return { results, cleanAccuracy: results.clean!.accuracy, summaries };
      }
      const r = await imageRobustness(classifier, x, y as tf.Tensor1D, attacks, { ...o, epsilons, seed, batchSize, range });
      const data = {
        ...resultsHeader('eval', o.command, seed),
        dataset: dataset_,
        model,
        clean: { accuracy: r.cleanAccuracy, n },
        attacks: imageAttackEntries(r.summaries),
        ...(o.shard && range
          ? {
              shard: {
                ...o.shard,
                total: n,
                ...range,
                unit: batchSize,
                imageExamples: Math.min(o.examples ?? 8, n),
                cleanBits: r.cleanCorrect.map((c) => (c ? '1' : '0')).join(''),
                attacks: r.shardValues,
              },
            }
          : {}),
      };
      const results = o.out ? writeResults(o.out, data) : validateResults(data, 'results');
      return { results, cleanAccuracy: r.cleanAccuracy, summaries: r.summaries };
    } finally {
      tf.dispose([x, y]);
    }
  } finally {
    classifier.dispose?.();
  }
}
