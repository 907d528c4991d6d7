import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { environmentInfo, fromLayersModel, mnistCnn, saveModel } from '@parry/core';
import { toTensors } from '@parry/datasets';
import { trainClassifier, type EpochRecord } from '@parry/defenses';
import { writeResults, type Results } from '@parry/metrics';
import { type Command, Option } from 'commander';
import Table from 'cli-table3';
import { log, out, setupBackend } from '../context.js';
import { type DatasetRef, loadDataset } from '../data.js';
import { createProgress } from '../progress.js';
import { backendOption, wrap } from '../options.js';
import { parseInteger, parsePositive, parseRate } from '../parse.js';

export interface TrainCommandOptions {
  data?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule?: 'constant' | 'cosine';
  dropout?: number;
  seed: number;
  out: string;
  backend?: string;
  limit?: number;
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

/** Train the small MNIST CNN (Wong et al. 2020) and save it with its training curves. */
export async function trainCommand(o: TrainCommandOptions): Promise<TrainOutcome> {
  const ref: DatasetRef = o.data ? { kind: 'mnist-idx', dir: path.resolve(o.data) } : { kind: 'embedded-mnist', seed: o.seed, testFraction: 0.2 };
  const backend = await setupBackend(o.backend);
  const dataset = loadDataset(ref);
  const nTrain = Math.min(o.limit ?? dataset.train.n, dataset.train.n);
  const train = toTensors(dataset.train, 0, nTrain);
  const test = toTensors(dataset.test);
  const layers = mnistCnn({ seed: o.seed, dropout: o.dropout ?? 0 });
  const model = fromLayersModel(layers, { bounds: dataset.bounds, labelNames: dataset.labelNames });
  if (!o.quiet) log(`training ${layers.name} on ${nTrain} ${dataset.name} digits (${dataset.source}), backend ${backend.name}, seed ${o.seed}`);
  try {
    const steps = Math.ceil(nTrain / o.batchSize);
    let bar = createProgress(`epoch 1/${o.epochs}`, steps, { quiet: o.quiet });
    const epochs = await trainClassifier(model, { x: train.x, y: train.y }, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.lr,
      schedule: o.schedule ?? 'cosine',
      seed: o.seed,
      evalSet: { x: test.x, y: test.y },
      onBatch: ({ step, loss }) => bar.update(step, `loss ${loss.toFixed(4)}`),
      onEpoch: (r) => {
        bar.stop(`epoch ${r.epoch}/${o.epochs}: loss ${r.loss.toFixed(4)}, train acc ${(100 * r.trainAccuracy).toFixed(2)}%, held-out acc ${(100 * r.testAccuracy).toFixed(2)}% (${r.seconds.toFixed(1)} s)`);
        if (r.epoch < o.epochs) bar = createProgress(`epoch ${r.epoch + 1}/${o.epochs}`, steps, { quiet: o.quiet });
      },
    });
    const last = epochs[epochs.length - 1];
    const hyperparameters = { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr, schedule: o.schedule ?? 'cosine', optimizer: 'adam', dropout: o.dropout ?? 0, seed: o.seed, nTrain, architecture: layers.name };
    await saveModel(o.out, layers, {
      bounds: dataset.bounds,
      labelNames: dataset.labelNames,
      training: { dataset: ref, hyperparameters, testAccuracy: last.testAccuracy, backend: backend.name },
    });
    const resultsFile = path.join(o.out, 'train-results.json');
    const results: Results = writeResults(resultsFile, {
      schema: 'parry-results',
      version: 1,
      kind: 'train',
      createdAt: new Date().toISOString(),
      command: o.argv ?? [],
      seed: o.seed,
      environment: environmentInfo() as unknown as Record<string, unknown>,
      dataset: { name: dataset.name, source: dataset.source, split: 'test', n: dataset.test.n },
      model: { path: o.out, name: layers.name, inputShape: [...model.inputShape], numClasses: model.numClasses, bounds: [...model.bounds] as [number, number] },
      clean: { accuracy: last.testAccuracy, n: dataset.test.n },
      attacks: [],
      training: { hyperparameters, epochs: epochs.map((e) => ({ ...e })) },
    });
    if (o.json) out(JSON.stringify(results, null, 2));
    else {
      const table = new Table({ head: ['epoch', 'loss', 'train acc', 'held-out acc', 'seconds'], style: { head: [], border: [] } });
      for (const e of epochs) table.push([e.epoch, e.loss.toFixed(4), pct(e.trainAccuracy), pct(e.testAccuracy), e.seconds.toFixed(1)]);
      out(table.toString());
      out(`model saved to ${o.out} (held-out accuracy ${pct(last.testAccuracy)} on ${dataset.test.n} digits)`);
    }
    return { modelDir: o.out, resultsFile, epochs, testAccuracy: last.testAccuracy };
  } finally {
    tf.dispose([train.x, train.y, test.x, test.y]);
    layers.dispose();
  }
}

export const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** The `parry train` subcommand and its flags. */
export function registerTrainCommand(program: Command, argv: string[]): void {
  program
    .command('train')
    .description('train the small MNIST CNN (Wong et al. 2020) and save it')
    .option('--data <dir>', 'directory with MNIST IDX files (default: the 10,000 embedded digits)')
    .option('--epochs <n>', 'training epochs', wrap('--epochs', (f, v) => parseInteger(f, v)), 8)
    .option('--batch-size <n>', 'examples per step', wrap('--batch-size', (f, v) => parseInteger(f, v)), 64)
    .option('--lr <x>', 'Adam learning rate', wrap('--lr', parsePositive), 2e-3)
    .option('--dropout <rate>', 'dropout before the last layer', wrap('--dropout', parseRate), 0.3)
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule').choices(['cosine', 'constant']).default('cosine'))
    .option('--seed <n>', 'seed for the split, initialisation and shuffling', wrap('--seed', (f, v) => parseInteger(f, v, 0)), 0)
    .option('--limit <n>', 'use at most n training examples', wrap('--limit', (f, v) => parseInteger(f, v)))
    .option('-o, --out <dir>', 'model directory to write', 'runs/mnist-cnn')
    .addOption(backendOption())
    .option('--json', 'print the results object as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (o) => {
      await trainCommand({ ...o, argv });
    });
}
