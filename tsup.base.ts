import { defineConfig } from 'tsup';

/** The one tsup configuration every package uses (kept within what tsup -> tsdown migration maps). */
export function packageConfig(entry: string[] = ['src/index.ts']) {
  return defineConfig({ entry, format: ['esm'], dts: true, clean: true, target: 'node20' });
}
