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
  labelMetricsSchema,
  labelRobustnessSchema,
  imageExampleSchema,
  textExampleSchema,
  resultsJsonSchema,
  RESULTS_JSON_SCHEMA_PATH,
  type Results,
  type ResultsInput,
  type ImageExample,
  type TextExample,
  type LabelMetrics,
  type LabelRobustness,
} from './results.js';
export { reportDetails, type ReportDetails, type ReportDetailsOptions } from './report-details.js';
export { type LabelScore, type MultiLabelMetrics, type SingleLabelMetrics, multiLabelMetrics, tuneThresholds, singleLabelMetrics, DEFAULT_THRESHOLD_GRID } from './multilabel.js';
