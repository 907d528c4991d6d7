import { defineConfig } from 'vitest/config';

// Generous per-test limits: some tests start child processes (hostile inputs that used to hang) and the CI machine has
// 2 shared cores. They bound "does not hang", never speed.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
