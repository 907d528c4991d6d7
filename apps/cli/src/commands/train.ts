import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type ImageAttackPlugin, type DefensePlugin, fromLayersModel, guardOutput, mnistCnn, type Registry, saveModel, UsageError } from '@parry/core';
import { toTensors } from '@parry/datasets';
import { type EpochRecord, type InitScheme, registerBuiltinDefenses, reinitialize, train } from '@parry/defenses';
import { validateResults, type Results } from '@parry/metrics';
import { type Command, Option } from 'commander';
import Table from 'cli-table3';
import { log, out, resultsHeader, setupBackend } from '../context.js';
import { pluginRegistry } from '../plugins.js';
import { checkOptionKey, type OptionPair, parseOptionPairs, pluginOptions } from '../option-pairs.js';
import { trainTextCommand } from './text.js';
import { type DatasetRef, loadDataset } from '../data.js';
import { createProgress } from '../progress.js';
import { backendOption, wrap } from '../options.js';
import { parseInteger, parsePositive, parseRate } from '../parse.js';

export interface TrainCommandOptions {
  data?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule?: 'constant' | 'cosine' | 'cyclic' | 'piecewise';
  optimizer?: 'adam' | 'sgd';
  dropout?: number;
  seed: number;
  out: string;
  backend?: string;
  limit?: number;
  /** Comma-separated defense names (`fgsm-rs`, `pgd-at`, `trades`, `weight-decay`, `label-smoothing`, `gaussian-noise`). */
  defense?: string;
  /** Epsilon for every defense with an `eps` option and for the per-epoch PGD evaluation (default 0.3). */
  eps?: number;
  /** `--def-opt <defense>.<key>=<value>`, repeatable. */
  defOpt?: string[];
  resume?: boolean;
  /** Replace `out` even when it is not a Parry model folder holding only Parry's files. */
  force?: boolean;
  /** Plugin modules to load (`--plugin`, repeatable); a `parry.config.mjs` in the working directory is loaded too. */
  plugin?: string[];
  checkpointDir?: string;
  /** PGD steps of the per-epoch robust evaluation (0 = none; default 10 with a defense, else 0). */
  evalPgdSteps?: number;
  /** Held-out examples for the per-epoch robust evaluation (the last n of the test split; default 1000). */
  evalPgdN?: number;
  earlyStop?: number;
  /** Weight initialisation: `he` (mnistCnn's He-normal, default) or `torch` (PyTorch's default, as in Wong et al.). */
  init?: 'he' | 'torch';
  json?: boolean;
  quiet?: boolean;
  argv?: string[];
}

export interface TrainOutcome {
  modelDir: string;
  resultsFile: string;
  epochs: EpochRecord[];
  testAccuracy: number;
}

/** `--def-opt fgsm-rs.relAlpha=1.25` -> one pair `{ plugin: 'fgsm-rs', key: 'relAlpha', value: 1.25 }`; values are JSON when they parse, else strings. */
export function parseDefenseOptions(pairs: string[]): OptionPair[] {
  return parseOptionPairs('--def-opt', pairs, 'trades.beta=6');
}

/**
 * Build the defense plugins named on the command line with their options. `--eps` fills every `eps` option not set
 * by `--def-opt`; `pgd-at.attack=<attack>` names a registered attack, configured by `pgd-at.attack.<key>=<value>`.
 * Every `--def-opt` must be for a defense in `--defense` and name one of its options (see `option-pairs.ts`).
 */
export function createDefenses(registry: Registry, names: string[], eps: number | undefined, defOpt: string[], configDefaults: Record<string, Record<string, unknown>> = {}): DefensePlugin[] {
  const listed = names.map((name) => registry.resolve(name, 'defense'));
  const opts = pluginOptions(registry, defOpt, { flag: '--def-opt', listFlag: '--defense', kind: 'defense', listed, example: 'trades.beta=6' });
  return names.map((name, index) => {
    const full = listed[index];
    const own = new Map(Object.entries({ ...(configDefaults[full] ?? {}), ...(opts.get(full) ?? {}) }));
    const attackOptions = new Map<string, unknown>();
    for (const [k, v] of own) {
      if (k.startsWith('attack.')) {
        attackOptions.set(k.slice('attack.'.length), v);
        own.delete(k);
      }
    }
    const attackName = own.get('attack');
    if (typeof attackName === 'string') {
      let attackFull: string;
      try {
        attackFull = registry.resolve(attackName, 'attack');
      } catch (e) {
        throw new UsageError(`--def-opt ${name}.attack=${attackName}: ${(e as Error).message}`);
      }
      for (const sub of attackOptions.keys()) checkOptionKey(attackFull, registry.optionNames(attackFull, 'attack'), sub, `--def-opt ${name}.attack.${sub}`);
      own.set('attack', registry.create<ImageAttackPlugin>(attackFull, Object.fromEntries(attackOptions), 'attack'));
    } else if (attackOptions.size) throw new UsageError(`--def-opt ${name}.attack.<key> needs ${name}.attack=<attack name> too`);
    const defaults = registry.create<DefensePlugin>(full, {}, 'defense');
    if (eps !== undefined && Object.hasOwn(defaults.options as object, 'eps') && own.get('eps') === undefined) own.set('eps', eps);
    return registry.create<DefensePlugin>(full, Object.fromEntries(own), 'defense');
  });
}

/** Train the small MNIST CNN (Wong et al. 2020), optionally with defenses, and save it with its training curves. */
export async function trainCommand(o: TrainCommandOptions): Promise<TrainOutcome> {
  const { registry, defaults } = await pluginRegistry({ plugin: o.plugin });
  if (!registry.has('parry/fgsm-rs')) registerBuiltinDefenses(registry);
  const eps = o.eps ?? 0.3;
  if (!(eps >= 0)) throw new UsageError(`--eps must be >= 0, got ${eps}`);
  const names = (o.defense ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const defenses = createDefenses(registry, names, eps, o.defOpt ?? [], defaults);
  for (const d of defenses) {
    if (d.modality === 'text') throw new UsageError(`--defense ${d.name} trains text models; use it with --model <family|folder> --data <text data>`);
  }
  const schedule = o.schedule ?? 'cosine';
  const optimizer = o.optimizer ?? 'adam';
  const evalPgdSteps = o.evalPgdSteps ?? (names.length ? 10 : 0);
  const checkpointDir = o.checkpointDir ?? (o.resume || names.length ? `${o.out.replace(/[\\/]+$/, '')}.checkpoints` : undefined);

  const protect = [{ path: o.data, flag: '--data' }, { path: checkpointDir, flag: '--checkpoint-dir' }];
  guardOutput(o.out, { kind: 'image-model', force: o.force, protect });
  const ref: DatasetRef = o.data ? { kind: 'mnist-idx', dir: path.resolve(o.data) } : { kind: 'embedded-mnist', seed: o.seed, testFraction: 0.2 };
  const backend = await setupBackend(o.backend);
  const dataset = loadDataset(ref);
  const nTrain = Math.min(o.limit ?? dataset.train.n, dataset.train.n);
  const train_ = toTensors(dataset.train, 0, nTrain);
  const test = toTensors(dataset.test);
  const nRobust = Math.min(o.evalPgdN ?? 1000, dataset.test.n);
  const robustSet = evalPgdSteps > 0 ? toTensors(dataset.test, dataset.test.n - nRobust, dataset.test.n) : undefined;
  const layers = mnistCnn({ seed: o.seed, dropout: o.dropout ?? 0 });
  const init = o.init ?? 'he';
  reinitialize(layers, (init === 'he' ? 'keep' : init) as InitScheme, o.seed);
  const model = fromLayersModel(layers, { bounds: dataset.bounds, labelNames: dataset.labelNames });
  if (!o.quiet) {
    log(`training ${layers.name} on ${nTrain} ${dataset.name} digits (${dataset.source}), backend ${backend.name}, seed ${o.seed}` + (names.length ? `, defenses ${defenses.map((d) => d.name).join(', ')} (eps ${eps})` : ''));
  }
  try {
    const steps = Math.ceil(nTrain / o.batchSize);
    let bar: ReturnType<typeof createProgress> | undefined;
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
        bar ??= createProgress(`epoch ${epoch}/${o.epochs}`, steps, { quiet: o.quiet });
        bar.update(step, `loss ${loss.toFixed(4)}`);
      },
      onEpoch: (r) => {
        const robust = r.robustAccuracy != null ? `, PGD-${evalPgdSteps} acc ${pct(r.robustAccuracy)}` : '';
        const msg = `epoch ${r.epoch}/${o.epochs}: loss ${r.loss.toFixed(4)}, train acc ${pct(r.trainAccuracy)}, held-out acc ${pct(r.testAccuracy)}${robust} (${r.seconds.toFixed(1)} s)`;
        if (bar) bar.stop(msg);
        else if (!o.quiet) log(msg);
        bar = undefined;
      },
    });
    if (!o.quiet && result.resumedFrom > 0) log(`resumed from the checkpoint after epoch ${result.resumedFrom} in ${checkpointDir}`);
    if (!o.quiet && result.stopped) log(`stopped after epoch ${result.stopped.epoch} by ${result.stopped.by}: ${result.stopped.reason}`);
    const epochs = result.epochs;
    const last = epochs[epochs.length - 1];
    // after a rollback (FGSM-RS guard, early stopping) the saved weights are not the last epoch's: measure them
    const finalTest = result.stopped ? await accuracy(model, test.x, test.y) : last.testAccuracy;
    const hyperparameters: Record<string, unknown> = {
      ...result.hyperparameters,
      schedule,
      dropout: o.dropout ?? 0,
      init,
      eps: names.length ? eps : null,
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
      ...resultsHeader('train', o.argv, o.seed),
      dataset: { name: dataset.name, source: dataset.source, split: 'test', n: dataset.test.n },
      model: { path: o.out, name: layers.name, inputShape: [...model.inputShape], numClasses: model.numClasses, bounds: [...model.bounds] as [number, number] },
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
    if (o.json) out(JSON.stringify(results, null, 2));
    else {
      const head = ['epoch', 'loss', 'train acc', 'held-out acc', ...(robustSet ? [`PGD-${evalPgdSteps} acc`] : []), 'seconds'];
      const table = new Table({ head, style: { head: [], border: [] } });
      for (const e of epochs) {
        table.push([e.epoch, e.loss.toFixed(4), pct(e.trainAccuracy), pct(e.testAccuracy), ...(robustSet ? [e.robustAccuracy != null ? pct(e.robustAccuracy) : '-'] : []), e.seconds.toFixed(1)]);
      }
      out(table.toString());
      out(`model saved to ${o.out} (held-out accuracy ${pct(finalTest)} on ${dataset.test.n} digits)`);
    }
    return { modelDir: o.out, resultsFile, epochs, testAccuracy: finalTest };
  } finally {
    tf.dispose([train_.x, train_.y, test.x, test.y, ...(robustSet ? [robustSet.x, robustSet.y] : [])]);
    layers.dispose();
  }
}

async function accuracy(model: ReturnType<typeof fromLayersModel>, x: tf.Tensor, y: tf.Tensor): Promise<number> {
  const acc = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < x.shape[0]; i += 512) parts.push(tf.argMax(model.logits(tf.slice(x, i, Math.min(512, x.shape[0] - i))), 1));
    return tf.mean(tf.cast(tf.equal(tf.concat(parts), tf.cast(y, 'int32')), 'float32'));
  });
  const v = (await acc.data())[0];
  acc.dispose();
  return v;
}

export const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** The `parry train` subcommand and its flags. */
export function registerTrainCommand(program: Command, argv: string[]): void {
  program
    .command('train')
    .description('train the small MNIST CNN (Wong et al. 2020), optionally with adversarial training; or, with --model, a Transformer text classifier')
    .option('--data <path>', 'MNIST IDX directory (default: the 10,000 embedded digits); with --model: SST-2 / GoEmotions directory or a csv/tsv/jsonl file')
    .option('--epochs <n>', 'training epochs (default 8; text 5)', wrap('--epochs', (f, v) => parseInteger(f, v)))
    .option('--batch-size <n>', 'examples per step (default 64; text 32)', wrap('--batch-size', (f, v) => parseInteger(f, v)))
    .option('--lr <x>', 'base (peak) learning rate (default 2e-3; text from scratch 5e-4, fine-tuning 5e-5)', wrap('--lr', parsePositive))
    .addOption(new Option('--optimizer <kind>', 'optimizer').choices(['adam', 'sgd']).default('adam'))
    .addOption(new Option('--init <scheme>', 'weight initialisation: he (He-normal) or torch (PyTorch default, as in Wong et al. 2020)').choices(['he', 'torch']).default('he'))
    .option('--dropout <rate>', 'dropout before the last layer (default 0.3; text: every dropout of the encoder, default 0.1)', wrap('--dropout', parseRate))
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule (cyclic: 0 -> lr at 40% -> 0; piecewise: x0.1 at 50% and 75%)').choices(['cosine', 'constant', 'cyclic', 'piecewise']).default('cosine'))
    .option('--defense <names>', 'comma-separated defenses: fgsm-rs, pgd-at, trades, weight-decay, label-smoothing, gaussian-noise; text: fgm, pgd-embed, freelb, smart, r-drop, a2t (see `parry list`)')
    .option('--eps <x>', 'linf epsilon for the defenses and the per-epoch PGD evaluation (default 0.3; text: sets the eps of FGM / PGD / SMART)', wrap('--eps', (f, v) => {
      const x = Number(v);
      if (!(Number.isFinite(x) && x >= 0)) throw new UsageError(`${f} must be a number >= 0, got "${v}"`);
      return x;
    }))
    .option('--def-opt <defense.key=value>', 'defense option, repeatable (e.g. --def-opt trades.beta=6, --def-opt pgd-at.attack=pgd --def-opt pgd-at.attack.steps=7)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--eval-pgd-steps <n>', 'PGD steps of the per-epoch robust evaluation, 0 = none (default 10 with --defense)', wrap('--eval-pgd-steps', (f, v) => parseInteger(f, v, 0)))
    .option('--eval-pgd-n <n>', 'held-out examples (the last n of the test split) for the per-epoch PGD evaluation', wrap('--eval-pgd-n', (f, v) => parseInteger(f, v)), 1000)
    .option('--early-stop <patience>', 'stop after this many epochs without improvement (robust accuracy when evaluated; text: dev accuracy or macro-F1) and keep the best weights', wrap('--early-stop', (f, v) => parseInteger(f, v)))
    .option('--checkpoint-dir <dir>', 'write a checkpoint after every epoch here (default <out>.checkpoints with --defense or --resume)')
    .option('--plugin <module>', 'load plugins from a module (package name or path), repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--resume', 'continue from the newest checkpoint (same flags as the interrupted run)')
    .option('--force', 'replace --out even when it exists and is not a Parry model folder holding only Parry\'s files')
    .option('--seed <n>', 'seed for the split, initialisation, shuffling and random starts', wrap('--seed', (f, v) => parseInteger(f, v, 0)), 0)
    .option('--limit <n>', 'use at most n training examples', wrap('--limit', (f, v) => parseInteger(f, v)))
    .option('-o, --out <dir>', 'model directory to write (default runs/mnist-cnn; text runs/text-model)')
    .addOption(backendOption())
    .option('--json', 'print the results object as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .option('--model <model>', 'text: bert | electra | distilbert | roberta (small, from scratch), a config.json, a Hugging Face model folder, or a Hub id (fine-tune)')
    .addOption(new Option('--data-format <format>', 'text data format (default: detected)').choices(['auto', 'sst2', 'goemotions', 'csv', 'tsv', 'jsonl']))
    .option('--dev <file>', 'text: dev file for csv/tsv/jsonl data (same columns as --data)')
    .option('--text-column <col>', 'text: column (header name or 0-based index) or JSON key of the text')
    .option('--pair-column <col>', 'text: column of the second text of a pair')
    .option('--label-column <col>', 'text: column of the label(s)')
    .option('--label-names <names>', 'text: comma-separated label names in id order')
    .option('--multi-label', 'text: label cells hold several comma-separated labels (sigmoid/BCE head)')
    .option('--max-length <n>', 'text: tokens per example incl. special tokens', wrap('--max-length', (f, v) => parseInteger(f, v)), 128)
    .option('--vocab <kind>', 'text from scratch: corpus (WordPiece built from the training texts) or bert-base-uncased', 'corpus')
    .option('--vocab-size <n>', 'text from scratch: size of the corpus vocabulary', wrap('--vocab-size', (f, v) => parseInteger(f, v)), 8000)
    .option('--hidden <n>', 'text from scratch: hidden size (default 128)', wrap('--hidden', (f, v) => parseInteger(f, v)))
    .option('--layers <n>', 'text from scratch: encoder layers (default 2)', wrap('--layers', (f, v) => parseInteger(f, v)))
    .option('--heads <n>', 'text from scratch: attention heads (default 2)', wrap('--heads', (f, v) => parseInteger(f, v)))
    .option('--intermediate <n>', 'text from scratch: feed-forward size (default 4 x hidden)', wrap('--intermediate', (f, v) => parseInteger(f, v)))
    .option('--warmup <ratio>', 'text: fraction of steps of linear warm-up', wrap('--warmup', parseRate), 0.1)
    .option('--weight-decay <x>', 'text: AdamW decoupled weight decay (not on biases and LayerNorm)', wrap('--weight-decay', (f, v) => parseRate(f, v)), 0.01)
    .option('--max-grad-norm <x>', 'text: clip the global gradient norm (0 = off)', wrap('--max-grad-norm', (f, v) => {
      const x = Number(v);
      if (!(Number.isFinite(x) && x >= 0)) throw new UsageError(`${f} must be a number >= 0, got "${v}"`);
      return x;
    }), 1)
    .option('--label-smoothing <x>', 'text: label smoothing (multi-label: targets pulled toward 1/2)', wrap('--label-smoothing', parseRate))
    .option('--offline', 'text: never download; use the Hub cache only (also PARRY_OFFLINE=1)')
    .option('--force-download', 'text: download a Hub model again even when it is cached (the cached files are replaced once the new ones are checked)')
    .option('--pos-weight <auto|x>', 'text, multi-label: weight of each label\'s positive BCE term; auto = negatives / positives per label (capped at 20)')
    .addOption(new Option('--augment <method>', 'text: augment the training set first (EDA or character noise; originals kept)').choices(['eda', 'char']))
    .option('--num-aug <n>', 'text: augmented copies per training example', wrap('--num-aug', (f, v) => parseInteger(f, v)), 4)
    .option('--aug-rate <x>', 'text: EDA alpha for all four operations, or the character-noise probability per word', wrap('--aug-rate', parseRate), 0.1)
    .action(async (o, command: Command) => {
      if (o.model) {
        const fromScratch = /^(bert|electra|distilbert|roberta)$/.test(o.model) || String(o.model).endsWith('.json');
        if (!o.data) throw new UsageError('--data is needed with --model (an SST-2 / GoEmotions directory, or a csv/tsv/jsonl file)');
        await trainTextCommand({
          ...o,
          format: o.dataFormat,
          epochs: o.epochs ?? 5,
          batchSize: o.batchSize ?? 32,
          lr: o.lr ?? (fromScratch ? 5e-4 : 5e-5),
          out: o.out ?? 'runs/text-model',
          maxLengthGiven: command.getOptionValueSource('maxLength') === 'cli',
          argv,
        });
        return;
      }
      await trainCommand({ ...o, dropout: o.dropout ?? 0.3, epochs: o.epochs ?? 8, batchSize: o.batchSize ?? 64, lr: o.lr ?? 2e-3, out: o.out ?? 'runs/mnist-cnn', argv });
    });
}
