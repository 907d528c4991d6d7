export {
  accuracy,
  correctMask,
  perturbationSizes,
  summarizeAttack,
  type AttackSummary,
  type EpsilonSummary,
  type Stat,
} from './robustness.js';
export {
  RESULTS_SCHEMA,
  RESULTS_VERSION,
  resultsSchema,
  attackSummarySchema,
  epsilonSummarySchema,
  epochRecordSchema,
  validateResults,
  writeResults,
  readResults,
  type Results,
  type ResultsInput,
} from './results.js';
