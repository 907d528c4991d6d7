/** Shapes exchanged between the bench parent and its per-variant child processes (one JSON line each). */

export const RESULT_PREFIX = 'PARRY_BENCH_RESULT ';

/** Variants, each run in its own process so kernel registrations never bleed from one to another. */
export const VARIANTS = ['wasm+polyfills', 'wasm-no-perf-polyfills', 'wasm+polyfills-2threads', 'cpu'] as const;
export type VariantName = (typeof VARIANTS)[number];

export interface BackendSummary {
  name: string;
  threads: number;
  polyfills: string[];
  versions: Record<string, string>;
}

export interface TrainResult {
  kind: 'train';
  modelDir: string;
  dataSource: string;
  /** True when the real MNIST IDX files were used, false for the embedded subset. */
  realMnist: boolean;
  trainExamples: number;
  epochs: number;
  trainSeconds: number;
  testAccuracy: number;
  backend: BackendSummary;
}

export interface AttackMeasurement {
  attack: 'fgsm' | 'pgd';
  /** Label shown in the table, e.g. "PGD-40". */
  label: string;
  steps: number;
  images: number;
  batchSize: number;
  batches: number;
  reps: number;
  /** Wall time of each timed repetition (ms). */
  repMs: number[];
  medianMs: number;
  imagesPerSecond: number;
  /** Images per second of the fastest repetition (less affected by other work on a shared box). */
  bestImagesPerSecond: number;
  msPerBatch: number;
  /** Max of `tf.memory().numTensors` over the batch callbacks of the timed repetitions. */
  peakTensorsAtBatchEnd: number;
  /** Live tensors before the run (model weights, data, labels). */
  baselineTensors: number;
  /** From `tf.profile` over one batch: the most live tensors after any kernel, the peak bytes, the tensors left. */
  profile: { peakTensors: number; peakBytes: number; newTensors: number; newBytes: number; kernels: number };
  /** Tensor count after each repetition (results disposed) minus before; all zero when nothing leaks. */
  leakedTensors: number[];
  leak: boolean;
  /** 1 - success rate over the attacked images (clean mistakes count as successes). */
  robustAccuracy: number;
  /** When the number is extrapolated from shorter runs (cpu), how. */
  extrapolated?: string;
}

export interface KernelRow {
  name: string;
  calls: number;
  totalMs: number;
  share: number;
}

export interface StepProfile {
  /** Median wall time of one unprofiled PGD step (lossAndGradient + sign step + projection) at batch 256. */
  stepMs: number;
  /** Wall time of one profiled step (mean), including tf.profile's own bookkeeping. */
  profiledStepMs: number;
  /** Sum of the kernel times of one profiled step (mean over `profiledSteps`). */
  kernelMs: number;
  /** Time of `__op` scope entries (custom-gradient ops), whose nested kernels are already in `kernels`. */
  scopeMs: number;
  kernels: KernelRow[];
  kernelCalls: number;
  profiledSteps: number;
}

export interface VariantResult {
  kind: 'variant';
  variant: VariantName;
  backend: BackendSummary;
  cleanAccuracy: number;
  /** Images the clean accuracy (and the attacks) used. */
  cleanImages: number;
  attacks: AttackMeasurement[];
  step: StepProfile;
  seconds: number;
  loadavgStart: number[];
  loadavgEnd: number[];
}

export type ChildResult = TrainResult | VariantResult;

export interface TorchAttack {
  attack: string;
  images: number;
  imagesPerSecond: number;
  bestImagesPerSecond?: number;
  msPerBatch: number;
  robustAccuracy?: number;
}

/** What `scripts/bench-torch.py` writes (docs/bench-torch.json). */
export interface TorchResult {
  torch: string;
  python?: string;
  threads: number;
  date?: string;
  batchSize: number;
  data?: string;
  results: TorchAttack[];
  stepMs?: number;
  loadavg?: number[];
  /** Set by a protocol that ran PyTorch and Parry alternately in one session (none does yet). */
  alternating?: boolean;
  /** The same at torch.set_num_threads(1), when measured. */
  oneThread?: { threads: number; results: TorchAttack[]; stepMs?: number; loadavg?: number[] } | null;
}
