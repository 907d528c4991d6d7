/**
 * What every pipeline shares: the backend, the hooks a caller gives for logs and progress, and the header of the
 * results files it writes.
 */
import { type BackendInfo, environmentInfo, initBackend, type ThreadWorkload, UsageError } from '@parry/core';
import { RESULTS_SCHEMA, RESULTS_VERSION } from '@parry/metrics';

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/**
 * Initialise a tfjs backend by name (`auto` by default, or `PARRY_BACKEND`); an unknown name is one line. The wasm
 * thread count: `threads.threads` (`--threads`), else `PARRY_THREADS`, else the automatic choice for
 * `threads.workload` (a text command passes its model's hidden size; see `chooseWasmThreads`), else 1.
 */
export async function setupBackend(name: string | undefined, threads: { threads?: number; workload?: ThreadWorkload } = {}): Promise<BackendInfo> {
  const b = name ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend "${b}" is not one of ${BACKENDS.join(', ')}`);
  return initBackend({ backend: b as (typeof BACKENDS)[number], threads: threads.threads, workload: threads.workload });
}

/** A progress reporter for one phase (training epoch, attack): the CLI draws bars, a library caller may ignore it. */
export interface Progress {
  update(done: number, extra?: string): void;
  stop(message?: string): void;
}

/** Where a pipeline reports what it does; both default to silence. */
export interface RunHooks {
  /** Log lines (what runs, notes, warnings). */
  log?: (line: string) => void;
  /** A progress reporter for a phase of `total` steps. */
  progress?: (label: string, total: number) => Progress;
}

const silent: Progress = { update() {}, stop() {} };

/** The hooks with silent defaults. */
export function hooksOf(h: RunHooks): { log: (line: string) => void; progress: (label: string, total: number) => Progress } {
  return { log: h.log ?? (() => {}), progress: h.progress ?? (() => silent) };
}

/** The fields every results file starts with: format, kind, when, how (`command`), seed and environment. */
export function resultsHeader(kind: 'eval' | 'train', command: readonly string[] | undefined, seed: number) {
  return {
    schema: RESULTS_SCHEMA as typeof RESULTS_SCHEMA,
    version: RESULTS_VERSION as typeof RESULTS_VERSION,
    kind,
    createdAt: new Date().toISOString(),
    command: [...(command ?? [])],
    seed,
    environment: environmentInfo() as unknown as Record<string, unknown>,
  };
}

/**
 * A run name (`--name`) as results record it: trimmed, one line, at most 80 characters; undefined when not given.
 * Refused with a `UsageError` saying how to fix it otherwise.
 */
export function checkRunName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const trimmed = name.trim();
  if (!trimmed) throw new UsageError('--name is empty; give the run a name, e.g. --name fgm+eda, or leave --name out to name it after the model folder');
  if (/[\u0000-\u001f\u007f\u2028\u2029]/.test(trimmed)) throw new UsageError('--name has a line break or control character; give a one-line name');
  if (trimmed.length > 80) throw new UsageError(`--name is ${trimmed.length} characters; give at most 80 (reports show it in legends and headings)`);
  return trimmed;
}

export const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** Comma-separated names -> trimmed, non-empty names. */
export const splitNames = (s: string | readonly string[] | undefined): string[] =>
  (typeof s === 'string' ? s.split(',') : [...(s ?? [])]).map((x) => x.trim()).filter(Boolean);
