/**
 * The contract between the text trainer (`trainText` in @parry/defenses) and text defenses: what a step hands to a
 * defense and what a defense returns. It lives in core so that third-party text defenses depend on core only.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng.js';
import type { TextAttackExample, TextAttackRecord, TextAttackSummary } from './text-attack/run.js';
import type { Encoding, TextBatch, TextModel, TextTokenizer } from './text-types.js';
import type { TruncationStrategy } from './truncation.js';

export type { TextModel } from './text-types.js';

/** One training step's inputs, handed to text defenses. */
export interface TextStepContext {
  model: TextModel;
  batch: TextBatch;
  /** int32 `[B]` class ids or float32 `[B, L]` multi-hot targets (after label smoothing). */
  targets: tf.Tensor;
  /** Trainable variables by Hugging Face name. */
  params: Array<{ name: string; variable: tf.Variable }>;
  /** The training loss of logits (mean over the batch). */
  lossOf(logits: tf.Tensor2D): tf.Scalar;
  /** Dropout seed of this step. */
  seed: number;
  rng: Rng;
  epoch: number;
  step: number;
  globalStep: number;
  totalSteps: number;
  learningRate: number;
}

/** Gradients by parameter name and the loss value they belong to. */
export interface StepGradients {
  loss: tf.Scalar;
  grads: Record<string, tf.Tensor>;
  /** Gradient of `loss` w.r.t. the inputs_embeds `[B, T, E]`, when the step computed it (see `needsEmbedsGrad`). */
  embedsGrad?: tf.Tensor3D;
}

/** A tokenised training set: class ids (single-label) or multi-hot rows `[n * numLabels]`, and the texts when known. */
export interface TextTrainingSet {
  encodings: Encoding[];
  labels: Int32Array | Float32Array;
  /** The source texts in the same order (attack-based defenses need them). */
  texts?: readonly string[];
}

/** What `epochData` sees at the start of an epoch. */
export interface TextEpochContext {
  model: TextModel;
  /** The original training set (not a previous epoch's). */
  data: TextTrainingSet;
  tokenizer?: TextTokenizer;
  /** Token limit the set was encoded with. */
  maxLength?: number;
  /** Which tokens of an over-long text the set kept (default `head`); new texts are encoded the same way. */
  truncation?: TruncationStrategy;
  epoch: number;
  epochs: number;
  /** Seed of this epoch (derived from the run's seed, so a resumed run repeats it). */
  seed: number;
  /** Runs registered text attacks against the current model (A2T-style defenses); set by the composing layer. */
  attacks?: TextAttackRunner;
}

/**
 * Runs a registered text attack on examples with a model. The trainer only passes it on: whoever composes training
 * (`@parry/pipelines`, the CLI) builds it from the plugin registry, so defenses never depend on attack packages.
 */
export interface TextAttackRunner {
  run(
    attack: string,
    examples: readonly TextAttackExample[],
    options: { model: TextModel; tokenizer: TextTokenizer; maxLength: number; truncation?: TruncationStrategy; seed: number; queryBudget?: number; attackOptions?: Record<string, unknown> },
  ): Promise<{ records: TextAttackRecord[]; summary: TextAttackSummary }>;
}

/**
 * The text trainer's hooks of a defense (`modality: 'text'`). `gradients` replaces the clean forward/backward
 * (FreeLB-style methods whose loss is only adversarial); `extraGradients` adds to it (FGM, PGD, SMART, R-Drop). Both
 * run inside the step's `tf.tidy`, so intermediate tensors are freed.
 */
export interface TextDefenseHooks {
  /**
   * Called at the start of every epoch: return the set to train on this epoch (e.g. the original plus adversarial
   * examples of the current model), or nothing to keep the original.
   */
  epochData?(ctx: TextEpochContext): Promise<TextTrainingSet | undefined> | TextTrainingSet | undefined;
  gradients?(ctx: TextStepContext): StepGradients;
  extraGradients?(ctx: TextStepContext, clean: StepGradients): StepGradients;
  /** Ask the clean step to also return the gradient w.r.t. the inputs_embeds (`StepGradients.embedsGrad`). */
  readonly needsEmbedsGrad?: boolean;
}

