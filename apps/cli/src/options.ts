import { UsageError } from '@parry/core';
import { Option } from 'commander';

/** Bind a flag name to a value parser, for commander's option callbacks. */
export const wrap =
  <T>(flag: string, fn: (flag: string, v: string) => T) =>
  (v: string) =>
    fn(flag, v);

export const backendOption = () => new Option('--backend <name>', 'tensorflow | wasm | cpu | auto (env PARRY_BACKEND)').default(undefined);

/**
 * `--threads 1|2`: the wasm backend's kernel threads. Default `PARRY_THREADS`, else for text models 2 when the hidden
 * size is at least 512 on a machine with 2+ cores (unsharded runs), else 1 (see `chooseWasmThreads` in @parry/core).
 */
export const threadsOption = () =>
  new Option('--threads <n>', 'wasm backend threads, 1 or 2 (env PARRY_THREADS; default: 2 for text models of hidden size >= 512 on 2+ cores unless --shard, else 1)').argParser((v: string) => {
    if (v !== '1' && v !== '2') throw new UsageError(`--threads must be 1 or 2, got "${v}"`);
    return Number(v);
  });
