/**
 * The epoch loop shared by the image trainer (`train`) and the text trainer (`trainText`): epoch iteration with
 * per-epoch seeds, resume from the newest checkpoint (names and shapes checked before anything is restored; weights,
 * optimizer state, plugin state, best weights and the run's records), tracking the best epoch on a dev metric with
 * early stopping and restoring its weights, an atomic checkpoint after every epoch, and the per-epoch records. The
 * trainers supply only what differs: how an epoch's steps run and how it is evaluated.
 *
 * Checkpoint state (`checkpoint.json` `state`): `{ configKey, records, optimizerStep, stopped?, ...trainer state,
 * [bestEpoch, bestMetric, stoppedEarly], [plugins] }`; tensors: the weights under their trainer-given names,
 * `opt/<slot>`, `best/<i>` (best-weight tracking) and `plugin/<i>/<key>` (plugin state).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type DefenseState, guardPluginCallSync, type Rng, UsageError } from '@parry/core';
import { BestWeights } from './best-weights.js';
import { checkCheckpointDir, listCheckpoints, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { TrainOptimizer } from './optimizer.js';

/** A seed for epoch `epoch` of a run with `seed` (splitmix32-style mix), so any epoch's stream is derivable on resume. */
export function epochSeed(seed: number, epoch: number): number {
  let h = (Math.trunc(seed) ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

/** What the loop needs of a plugin: its name, and optionally resumable state and tensors to release. */
export interface LoopPlugin {
  readonly name: string;
  getState?(): DefenseState;
  setState?(state: DefenseState): void;
  dispose?(): void;
}

/** The tensors a plugin keeps across calls, as it declares them through `getState()` (not a leak for the guard). */
export function keptTensors(p: LoopPlugin): (() => tf.Tensor[]) | undefined {
  if (!p.getState) return undefined;
  return () => {
    try {
      return Object.values(p.getState!()?.tensors ?? {});
    } catch {
      return []; // a getState that throws is reported where the checkpoint calls it
    }
  };
}

/** Checks to run before anything else (so a bad `--checkpoint-dir` is refused before the first epoch, not after it). */
export function checkLoopOptions(o: { checkpointDir?: string; resume?: boolean }): void {
  if (o.resume && !o.checkpointDir) throw new UsageError('resume needs a checkpoint directory (--checkpoint-dir)');
  if (o.checkpointDir) checkCheckpointDir(o.checkpointDir);
}

export interface EpochContext {
  epoch: number;
  /** `epochSeed(seed, epoch)`. */
  seed: number;
  /** A stream seeded with `seed`, fresh for this epoch. */
  rng: Rng;
}

export interface EpochOutcome<R, Stop> {
  /** The epoch's record (`seconds` is set by the loop after evaluation and best-weight tracking). */
  record: R;
  /** The dev metric best-weight tracking watches (higher is better); undefined when there is none. */
  metric?: number;
  /** Set to stop training after this epoch; saved in checkpoints as `stopped`. */
  stop?: Stop;
}

export interface EpochLoopSpec<R extends { epoch: number; seconds: number }, Stop, X extends object> {
  epochs: number;
  seed: number;
  /** The run's settings as a string: a checkpoint written with other settings is refused on resume. */
  configKey: string;
  checkpointDir?: string;
  resume?: boolean;
  /** Keep only the newest k checkpoints (0 = all). */
  keepCheckpoints?: number;
  /** The trained variables under their checkpoint names, in a fixed order. */
  weights: ReadonlyArray<readonly [name: string, variable: tf.Variable]>;
  /** Owned by the loop from here on (disposed at the end). */
  optimizer: TrainOptimizer;
  /** Plugins whose `getState`/`setState` travel in checkpoints (as `plugin/<i>/<key>`); disposed at the end. */
  plugins?: readonly LoopPlugin[];
  /**
   * Track the best epoch by `EpochOutcome.metric` (a copy of its weights) and restore it at the end; with `patience`,
   * stop after that many epochs without improvement. Without a metric, the last epoch is the best.
   */
  best?: { patience?: number };
  /** Trainer state saved in every checkpoint next to the loop's own (JSON). */
  state?: { save(): X; load(saved: X): void };
  /** After resuming (or not), before the first epoch. */
  start?(resumedFrom: number): void | Promise<void>;
  /** Run one epoch: its steps and its evaluation. */
  runEpoch(ctx: EpochContext): Promise<EpochOutcome<R, Stop>>;
  /** After the epoch's checkpoint. */
  onEpoch?(record: R): void | Promise<void>;
}

export interface EpochLoopResult<R, Stop> {
  records: R[];
  /** Epochs already done when the run started (0 for a fresh run). */
  resumedFrom: number;
  /** The `stop` of the epoch that stopped training, if one did. */
  stopped?: Stop;
  /** With `best`: the epoch whose weights the model holds at the end. */
  bestEpoch: number;
  /** With `best.patience`: whether training stopped for lack of improvement. */
  stoppedEarly: boolean;
}

interface LoopState<R, Stop> {
  configKey: string;
  records: R[];
  optimizerStep: number;
  stopped?: Stop;
  bestEpoch?: number;
  bestMetric?: number;
  stoppedEarly?: boolean;
  plugins?: Array<{ name: string; json?: unknown; tensors: string[] }>;
}

/** Run epochs `resumedFrom + 1 ..= epochs`; see the module comment. The optimizer and plugins are disposed at the end. */
export async function runEpochLoop<R extends { epoch: number; seconds: number }, Stop = never, X extends object = Record<never, never>>(
  spec: EpochLoopSpec<R, Stop, X>,
): Promise<EpochLoopResult<R, Stop>> {
  const { weights, optimizer } = spec;
  const variables = weights.map(([, v]) => v);
  const plugins = spec.plugins ?? [];
  const tracker = spec.best ? new BestWeights() : undefined;
  let records: R[] = [];
  let resumedFrom = 0;
  let stopped: Stop | undefined;
  let bestEpoch = 0;
  let stoppedEarly = false;
  try {
    if (spec.resume) {
      const latest = listCheckpoints(spec.checkpointDir!).at(-1);
      if (latest) {
        // names and shapes of everything this model and optimizer need, checked before any tensor is made
        const expected = Object.fromEntries([
          ...weights.map(([name, v]) => [name, v.shape] as const),
          ...optimizer.slots().map((s) => [`opt/${s.name}`, s.tensor.shape] as const),
        ]);
        const { meta, tensors } = readCheckpoint<LoopState<R, Stop> & X>(latest.path, { expected });
        try {
          const s = meta.state;
          if (s.configKey !== spec.configKey) {
            throw new UsageError(`checkpoint ${latest.path} was written with different settings; pass the same flags as the interrupted run, or use a new --checkpoint-dir`);
          }
          for (const [name, v] of weights) {
            const t = tensors[name];
            if (!t || t.shape.join() !== v.shape.join()) throw new UsageError(`checkpoint ${latest.path} does not fit this model (${name})`);
            v.assign(t);
          }
          optimizer.restore(s.optimizerStep, Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('opt/')).map(([k, v]) => [k.slice(4), v])));
          plugins.forEach((p, i) => {
            const saved = s.plugins?.[i];
            if (p.setState && saved) {
              const given = Object.fromEntries(saved.tensors.map((k) => [k, tensors[`plugin/${i}/${k}`]]));
              guardPluginCallSync(p.name, 'setState()', () => p.setState!({ json: saved.json, tensors: given }), { kept: keptTensors(p), inputs: given });
            }
          });
          if (tracker) {
            const count = tensors['best/0'] ? variables.length : 0;
            tracker.setState({ json: { best: s.bestMetric ?? null, bestEpoch: s.bestEpoch ?? 0, count }, tensors });
            bestEpoch = s.bestEpoch ?? 0;
            stoppedEarly = s.stoppedEarly ?? false;
          }
          records = s.records;
          stopped = s.stopped;
          spec.state?.load(s);
          resumedFrom = meta.epoch;
        } finally {
          tf.dispose(Object.values(tensors));
        }
      }
    }
    await spec.start?.(resumedFrom);

    for (let epoch = resumedFrom + 1; epoch <= spec.epochs && stopped === undefined && !stoppedEarly; epoch++) {
      const started = performance.now();
      const seed = epochSeed(spec.seed, epoch);
      const { record, metric, stop } = await spec.runEpoch({ epoch, seed, rng: createRng(seed) });
      if (tracker) {
        if (metric === undefined) bestEpoch = epoch;
        else if (tracker.offer(metric, epoch, variables)) bestEpoch = epoch;
        else if (spec.best!.patience != null && epoch - bestEpoch >= spec.best!.patience) stoppedEarly = true;
      }
      if (stop !== undefined) stopped = stop;
      record.seconds = (performance.now() - started) / 1000;
      records.push(record);
      if (spec.checkpointDir) await saveCheckpoint(spec, epoch, { configKey: spec.configKey, records, optimizerStep: optimizer.step, stopped }, tracker, { bestEpoch, stoppedEarly });
      await spec.onEpoch?.(record);
    }
    if (tracker && bestEpoch !== records.at(-1)?.epoch) tracker.restore(variables); // false (nothing kept) without a metric
  } finally {
    optimizer.dispose();
    tracker?.dispose();
    for (const p of plugins) {
      try {
        p.dispose?.();
      } catch {
        // a plugin that fails to release its tensors must not hide the run's own outcome
      }
    }
  }
  return { records, resumedFrom, stopped, bestEpoch, stoppedEarly };
}

async function saveCheckpoint<R extends { epoch: number; seconds: number }, Stop, X extends object>(
  spec: EpochLoopSpec<R, Stop, X>,
  epoch: number,
  base: LoopState<R, Stop>,
  tracker: BestWeights | undefined,
  best: { bestEpoch: number; stoppedEarly: boolean },
): Promise<void> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, v] of spec.weights) tensors[name] = v;
  for (const s of spec.optimizer.slots()) tensors[`opt/${s.name}`] = s.tensor;
  const state: LoopState<R, Stop> = { ...base, ...spec.state?.save() };
  if (tracker) {
    Object.assign(tensors, tracker.getState().tensors);
    // metrics lie in [0, 1]; -1 (no best yet) survives JSON where -Infinity would not
    Object.assign(state, { bestEpoch: best.bestEpoch, bestMetric: Number.isFinite(tracker.best) ? tracker.best : -1, stoppedEarly: best.stoppedEarly });
  }
  if (spec.plugins) {
    state.plugins = spec.plugins.map((p, i) => {
      const s = p.getState ? guardPluginCallSync(p.name, 'getState()', () => p.getState!() ?? {}, { noLeakCheck: true }) : {};
      for (const [k, t] of Object.entries(s.tensors ?? {})) tensors[`plugin/${i}/${k}`] = t;
      return { name: p.name, json: s.json, tensors: Object.keys(s.tensors ?? {}) };
    });
  }
  await writeCheckpoint(spec.checkpointDir!, epoch, state, tensors, spec.keepCheckpoints ?? 0);
}
