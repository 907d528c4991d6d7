import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts', 'src/bench.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
});
