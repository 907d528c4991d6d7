import { Option } from 'commander';

/** Bind a flag name to a value parser, for commander's option callbacks. */
export const wrap =
  <T>(flag: string, fn: (flag: string, v: string) => T) =>
  (v: string) =>
    fn(flag, v);

export const backendOption = () => new Option('--backend <name>', 'tensorflow | wasm | cpu | auto (env PARRY_BACKEND)').default(undefined);
