// The gate section read by `parry gate --config examples/github-actions/parry.config.ts` (see docs/robustness-gate.md).
// In your own project: `import { defineConfig } from '@parry/core'` and wrap the object in defineConfig({ ... }) for types.
export default {
  gate: {
    // a results.json you accepted, written with the same commands as the workflow's Train and Evaluate steps
    baseline: './robustness-baseline.json',
    // tolerated drop of clean and robust accuracy against the baseline (2 points), beyond sampling noise
    maxDrop: 0.02,
    confidence: 0.95,
    // absolute floors, checked on every run
    thresholds: {
      cleanAccuracy: 0.9,
      robustAccuracy: { 'parry/fgsm@0.1': 0.5, 'parry/pgd@0.05': 0.75 },
    },
  },
};
