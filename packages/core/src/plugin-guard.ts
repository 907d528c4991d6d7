/**
 * The plugin-call guard: the one place core checks what a plugin did during a call (an attack's `run`, a defense
 * hook, a factory). A call that throws, returns something malformed, disposes a tensor it was handed, or leaves
 * tensors behind becomes a `PluginError` (exit 1): one line that names the plugin, the call and what went wrong.
 *
 * Tensor accounting (tfjs engine counts, no tensor tracking in the hot path): the tensors a call may leave alive are
 * the ones it hands back (owned by the caller from then on) and the growth of the state it declares through
 * `getState()` (what a checkpoint saves). Anything else alive after the call that was not alive before is a leak.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParryError } from './errors.js';

/** A plugin failed (threw, returned garbage, leaked tensors, disposed its input). Exit code 1, one line. */
export class PluginError extends ParryError {
  readonly plugin: string;
  constructor(plugin: string, message: string) {
    super(`plugin ${plugin}: ${message}`, 1);
    this.plugin = plugin;
  }
}

/** The first line of an error's message (a plugin's own errors may carry stacks or several lines). */
export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 300) || (e instanceof Error ? e.name : 'no message');
}

/** `true` for a live tfjs tensor (tfjs' own duck-typed `instanceof`). */
export function isLiveTensor(t: unknown): t is tf.Tensor {
  return t instanceof tf.Tensor && !t.isDisposed;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (v instanceof tf.Tensor) return v.isDisposed ? 'a disposed tensor' : `a tensor of shape [${v.shape}]`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}

/** Short description of a value a plugin returned, for error lines (`undefined`, `[42]`, `a tensor of shape [2]`). */
export function describeReturned(v: unknown): string {
  if (Array.isArray(v)) {
    const head = v.slice(0, 3).map((e) => (e instanceof tf.Tensor || (e && typeof e === 'object') || typeof e === 'function' ? describeValue(e) : (JSON.stringify(e) ?? String(e)).slice(0, 40)));
    return `[${head.join(', ')}${v.length > 3 ? ', ...' : ''}]`;
  }
  return describeValue(v);
}

/** The id the next tensor will get (tensor ids grow monotonically), so a tensor with `id >= mark` was made after it. */
function tensorIdMark(): number {
  const probe = tf.scalar(0);
  const id = probe.id;
  probe.dispose();
  return id + 1;
}

function distinctLive(tensors: Iterable<tf.Tensor>): Set<tf.Tensor> {
  const s = new Set<tf.Tensor>();
  for (const t of tensors) if (isLiveTensor(t)) s.add(t);
  return s;
}

export interface PluginGuardOptions<T> {
  /** Tensors handed to the plugin that it must not dispose, by the name the error line uses (`x`, `batch.x`). */
  inputs?: Record<string, tf.Tensor | undefined>;
  /** The tensors the call hands back (the caller owns them); called on the call's result once it is validated. */
  returned?: (result: T) => Iterable<tf.Tensor>;
  /** Tensors the plugin keeps across calls (its `getState().tensors`); their growth during the call is not a leak. */
  kept?: () => Iterable<tf.Tensor>;
  /** Checks the result; returns what is wrong with it (one phrase), or undefined when it is fine. */
  validate?: (result: T) => string | undefined;
  /** Dispose a result that failed validation (or whose call leaked), so a failed call does not leak either. */
  release?: (result: T) => void;
  /** Skip the leak count (calls that run inside a caller's `tf.tidy`, whose intermediates live until the tidy ends). */
  noLeakCheck?: boolean;
}

interface Mark {
  before: number;
  idMark: number;
  keptBefore: number;
}

function begin<T>(options: PluginGuardOptions<T>): Mark {
  const keptBefore = options.kept ? distinctLive(options.kept()).size : 0;
  const idMark = options.noLeakCheck ? 0 : tensorIdMark();
  return { before: tf.memory().numTensors, idMark, keptBefore };
}

function settle<T>(plugin: string, call: string, options: PluginGuardOptions<T>, mark: Mark, result: T): T {
  for (const [name, t] of Object.entries(options.inputs ?? {})) {
    if (t && t.isDisposed) {
      if (options.release) options.release(result);
      throw new PluginError(plugin, `${call} disposed its input ${name}; the caller owns the tensors it hands a plugin (dispose only what the plugin creates)`);
    }
  }
  const problem = options.validate?.(result);
  if (problem) {
    options.release?.(result);
    throw new PluginError(plugin, `${call} ${problem}`);
  }
  if (options.noLeakCheck) return result;
  const fresh = options.returned ? [...distinctLive(options.returned(result))].filter((t) => t.id >= mark.idMark).length : 0;
  const keptGrowth = options.kept ? distinctLive(options.kept()).size - mark.keptBefore : 0;
  const leaked = tf.memory().numTensors - mark.before - fresh - keptGrowth;
  if (leaked > 0) {
    options.release?.(result);
    throw new PluginError(
      plugin,
      `${call} leaked ${leaked} tensor${leaked === 1 ? '' : 's'} (alive after the call, neither returned nor in getState()); wrap its tensor code in tf.tidy and dispose what it creates`,
    );
  }
  return result;
}

function failed(plugin: string, call: string, e: unknown): never {
  if (e instanceof ParryError) throw e; // already one line (a UsageError from the plugin's own checks keeps exit 2)
  throw new PluginError(plugin, `${call} threw: ${firstLine(e)}`);
}

/** Runs one plugin call (sync or async) under the guard; see {@link PluginGuardOptions}. */
export async function guardPluginCall<T>(plugin: string, call: string, fn: () => T | Promise<T>, options: PluginGuardOptions<T> = {}): Promise<T> {
  const mark = begin(options);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    failed(plugin, call, e);
  }
  return settle(plugin, call, options, mark, result);
}

/** The synchronous twin of {@link guardPluginCall}, for hooks that must stay synchronous (`beforeStep`, `afterStep`). */
export function guardPluginCallSync<T>(plugin: string, call: string, fn: () => T, options: PluginGuardOptions<T> = {}): T {
  const mark = begin(options);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    failed(plugin, call, e);
  }
  if (result instanceof Promise) {
    result.catch(() => undefined);
    throw new PluginError(plugin, `${call} returned a Promise, but this hook must be synchronous`);
  }
  return settle(plugin, call, options, mark, result);
}
