/**
 * One shard job's work: evaluate shard i/N of the evaluation and write its results file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateImageModel, evaluateTextModel, isTextModel, type Progress, type TextSplitName } from '@parry/pipelines';
import type { EvaluationSpec, ShardJobData, ShardJobResult } from './jobs.js';

/** Where a shard is: the phase (attack) and how far it got. */
export interface ShardProgress {
  phase: string;
  done: number;
  total: number;
  /** `host:pid` of the worker running it. */
  worker: string;
}

/** The `host:pid` of this process, as jobs record it. */
export const workerName = () => `${os.hostname()}:${process.pid}`;

/** A Hugging Face folder, or a Hub id (`org/name`) that is not a local path: what `parry eval` treats as a text model. */
export const isTextTarget = (model: string) => isTextModel(model) || (!fs.existsSync(model) && /^[\w.-]+\/[\w.-]+$/.test(model) && !model.startsWith('runs/'));

export interface EvaluateShardOptions {
  log?: (line: string) => void;
  /** Called as the shard advances (per attack batch for images, per example for text). */
  onProgress?: (p: Omit<ShardProgress, 'worker'>) => void;
}

/**
 * Evaluate one shard and write its results file (atomically, by the pipeline). Text shards keep the per-example
 * journal next to the file (`--resume`), so a shard retried after its worker died continues where it stopped; image
 * shards restart (the pipeline does not resume an image shard yet).
 */
export async function evaluateShard(data: ShardJobData, o: EvaluateShardOptions = {}): Promise<Omit<ShardJobResult, 'worker'>> {
  const started = Date.now();
  const e: EvaluationSpec = data.evaluation;
  fs.mkdirSync(path.dirname(data.file), { recursive: true });
  const progress = (phase: string, total: number): Progress => {
    o.onProgress?.({ phase, done: 0, total });
    return { update: (done) => o.onProgress?.({ phase, done, total }), stop: () => o.onProgress?.({ phase, done: total, total }) };
  };
  const common = {
    model: e.model,
    attacks: e.attacks,
    optionPairs: e.optionPairs,
    seed: e.seed ?? 0,
    batchSize: e.batchSize,
    data: e.data,
    runName: e.runName,
    backend: e.backend,
    plugins: { modules: e.plugins ?? [] },
    shard: data.shard,
    out: data.file,
    command: data.command,
    log: o.log,
    progress,
  };
  if (isTextTarget(e.model)) {
    await evaluateTextModel({
      ...common,
      limit: e.n,
      split: (e.split ?? (e.test && !e.dev ? 'test' : 'dev')) as TextSplitName,
      format: e.format as never,
      dev: e.dev,
      test: e.test,
      textColumn: e.textColumn,
      pairColumn: e.pairColumn,
      labelColumn: e.labelColumn,
      labelNames: e.labelNames,
      multiLabel: e.multiLabel,
      goal: e.goal,
      queryBudget: e.queryBudget,
      wordVectors: e.wordVectors,
      sentenceEncoder: e.sentenceEncoder,
      truncation: e.truncation,
      runtime: e.runtime,
      offline: e.offline,
      resume: true,
    });
  } else {
    await evaluateImageModel({ ...common, n: e.n, epsilons: e.epsilons ?? [0.1, 0.2, 0.3] });
  }
  return { file: data.file, shard: data.shard, seconds: (Date.now() - started) / 1000 };
}
