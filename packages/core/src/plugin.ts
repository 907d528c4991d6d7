import type { TextDefenseHooks } from './text-defense.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { Constraint, SearchMethod, TextAttack, Transformation } from './text-attack/contract.js';
import { type GoalFunction, type GoalKind, GOAL_KINDS } from './text-attack/goals.js';
import type { TextResourceName, TextResources } from './text-attack/resources.js';
import type { TextVictim } from './text-attack/victim.js';
import { z } from 'zod';
import type { Classifier } from './model.js';
import type { Criterion } from './criteria.js';
import type { Norm } from './distances.js';
import type { Rng } from './rng.js';
import { UsageError } from './errors.js';

/** Namespaced plugin name, `"<package>/<name>"` (e.g. `parry/pgd`, `example/noise`). */
export type PluginName = `${string}/${string}`;
export const PLUGIN_NAME_RE = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/;

/** What an attack needs from a model (ART estimator requirements). */
export type AttackNeed = 'gradients' | 'scores' | 'labels';

/** Counters an attack run reports (metrics read them). */
export interface AttackCounters {
  gradientEvaluations: number;
  forwardEvaluations: number;
}

/** What core hands an attack's `run` for one batch. */
export interface AttackContext {
  /** Epsilons of the sweep (fixed-epsilon attacks produce one adversarial batch per epsilon). */
  readonly epsilons: readonly number[];
  /** Seeded randomness for this batch; the only source of randomness an attack may use. */
  readonly rng: Rng;
  /** Incremented by the attack (or by the counting helpers in core). */
  readonly counters: AttackCounters;
}

/**
 * What an attack's `run` returns for one batch:
 * - fixed-epsilon attacks: one adversarial batch per epsilon, in the order of `context.epsilons`;
 * - minimization attacks: a single batch (the smallest perturbation found); core derives per-epsilon results.
 * Core clips to bounds, projects into each epsilon-ball and decides success, once for every attack.
 */
export interface AttackRunOutput {
  adversarials: tf.Tensor[];
  /**
   * Optional, for attacks made of stages (AutoAttack, sequences): per epsilon, how many examples of this batch were
   * still robust after each stage. Core sums the counts over batches into `EpsilonResult.stages`.
   */
  stages?: AttackStageCount[][];
}

/** Examples still robust after a stage of a composed attack, in one batch. */
export interface AttackStageCount {
  label: string;
  robust: number;
}

/** What a plugin works on. Attacks and defenses say it in `modality`; the registry, `parry list` and the CLI read it. */
export type Modality = 'image' | 'text';

/**
 * The plain object an image-attack factory returns. No base class needed; `defineAttack` is a template for the same
 * shape. A plain object without `modality` is taken as an image attack when registered.
 */
export interface ImageAttackPlugin<Options extends object = Record<string, unknown>> {
  readonly kind: 'attack';
  readonly modality: 'image';
  readonly name: PluginName;
  /** One-line description (paper, norm). */
  readonly summary: string;
  readonly norm: Norm;
  /** `fixed-epsilon` attacks respect each epsilon; `minimization` attacks return the smallest adversarial they find. */
  readonly mode: 'fixed-epsilon' | 'minimization';
  /** Criteria kinds the attack supports. */
  readonly criteria: readonly Criterion['kind'][];
  readonly needs: readonly AttackNeed[];
  /** The resolved options (defaults filled in). */
  readonly options: Readonly<Options>;
  /** Schema of the options; used to validate and to list defaults. */
  readonly optionsSchema: z.ZodType<Options>;
  run(model: Classifier, x: tf.Tensor, criterion: Criterion, context: AttackContext): Promise<AttackRunOutput> | AttackRunOutput;
}

/** A training batch as defense hooks see it. The trainer owns every tensor in it and disposes them after the step. */
export interface TrainBatch {
  /** Inputs the base cross-entropy is computed on (the clean batch, or what `transformBatch` made of it). */
  readonly x: tf.Tensor;
  /** int32 labels `[b]`. */
  readonly y: tf.Tensor1D;
  /** The clean inputs as drawn from the data set (never replaced by a hook). */
  readonly clean: tf.Tensor;
  /** Extra tensors a hook hands to a later hook (e.g. TRADES' `x'` for its loss term), keyed by plugin-chosen names. */
  readonly extras: Readonly<Record<string, tf.Tensor>>;
}

/** What the trainer hands a defense hook at each step. */
export interface DefenseStepContext {
  readonly model: Classifier;
  /** 1-based epoch. */
  readonly epoch: number;
  /** 0-based step within the epoch. */
  readonly step: number;
  readonly stepsPerEpoch: number;
  /** 0-based step over the whole run. */
  readonly globalStep: number;
  /** Learning rate of this step (after the schedule). */
  readonly learningRate: number;
  /** Seeded stream for this plugin and this step (derived from the run seed, epoch and step, so a resumed run repeats it). */
  readonly rng: Rng;
  /** The variables the optimizer updates (the model's trainable weights). */
  readonly weights: readonly tf.Variable[];
  /** Gradient/forward counters for attacks a hook runs. */
  readonly counters: AttackCounters;
}

/** What the trainer hands `beforeEpoch` / `afterEpoch`. */
export interface DefenseEpochContext {
  readonly model: Classifier;
  readonly epoch: number;
  readonly epochs: number;
  readonly weights: readonly tf.Variable[];
  /** `afterEpoch` only: this epoch's metrics (loss, trainAccuracy, testAccuracy, robustAccuracy when evaluated). */
  readonly metrics: Readonly<Record<string, number>>;
}

/** What `afterEpoch` may answer: nothing, or stop training (optionally saying why, for the results). */
export type AfterEpochDecision = void | 'stop' | { stop: true; reason: string };

/**
 * A plugin's resumable state, stored in every checkpoint: JSON plus named tensors. Tensors returned by `getState`
 * stay owned by the plugin; tensors passed to `setState` are owned by the caller (the plugin clones what it keeps).
 */
export interface DefenseState {
  json?: unknown;
  tensors?: Record<string, tf.Tensor>;
}

/**
 * Hooks a defense/regularizer plugin may have; the trainer calls only the hooks present, in this order per step:
 * `beforeStep` -> `transformBatch` (outside the gradient tape; may run attacks, may be async) -> `lossTerm` (inside the
 * tape, added to the mean cross-entropy on `batch.x`) -> optimizer update -> `afterStep`. Per epoch: `beforeEpoch`
 * before the first step, `afterEpoch` after the evaluation. Plugins run in the order they are listed, for every hook.
 */
export interface DefenseHooks {
  /** Called once before training (after a resume, after `setState`). */
  setup?(context: { model: Classifier; weights: readonly tf.Variable[]; epochs: number }): void | Promise<void>;
  beforeEpoch?(context: DefenseEpochContext): void | Promise<void>;
  beforeStep?(context: DefenseStepContext): void;
  /** Return a new batch (or the same one). Tensors of the input batch must not be disposed; new ones pass to the trainer. */
  transformBatch?(batch: TrainBatch, context: DefenseStepContext): TrainBatch | Promise<TrainBatch>;
  /** A scalar added to the loss; runs inside the gradient tape, so it must be synchronous and differentiable. */
  lossTerm?(batch: TrainBatch & { readonly logits: tf.Tensor2D }, context: DefenseStepContext): tf.Scalar;
  afterStep?(context: DefenseStepContext & { readonly loss: number }): void;
  afterEpoch?(context: DefenseEpochContext): AfterEpochDecision | Promise<AfterEpochDecision>;
  getState?(): DefenseState;
  setState?(state: DefenseState): void;
  /** Release tensors the plugin holds. */
  dispose?(): void;
}

/** What every defense plugin has: identity and options. */
interface DefenseBase<Options extends object> {
  readonly kind: 'defense';
  readonly name: PluginName;
  readonly summary: string;
  readonly options: Readonly<Options>;
  readonly optionsSchema: z.ZodType<Options>;
  readonly needs?: readonly AttackNeed[];
  /** Release what the plugin holds. */
  dispose?(): void;
}

/** A defense of the image trainer (`train` in @parry/defenses): the hooks of {@link DefenseHooks}. */
export interface ImageDefensePlugin<Options extends object = Record<string, unknown>> extends DefenseBase<Options>, DefenseHooks {
  readonly modality: 'image';
}

/** A defense of the text trainer (`trainText`): the hooks of {@link TextDefenseHooks} (embedding-space training, regularizers, A2T). */
export interface TextDefensePlugin<Options extends object = Record<string, unknown>> extends DefenseBase<Options>, TextDefenseHooks {
  readonly modality: 'text';
}

/** A defense plugin, image or text (discriminated by `modality`). */
export type DefensePlugin<Options extends object = Record<string, unknown>> = ImageDefensePlugin<Options> | TextDefensePlugin<Options>;

/** @deprecated the old name of {@link Modality} for defenses. */
export type DefenseDomain = Modality;

/** The resources and services a text attack or component is built with. */
export interface TextBuildContext {
  /** The model under attack (black-box: `predict` only; white-box: `whiteBox` is set). */
  readonly victim: TextVictim;
  /** The goal the attack must reach (from `--goal`, or the model's default). */
  readonly goal: GoalFunction;
  /** Word resources, loaded on first use (only those the plugin declares in `needs` are guaranteed). */
  readonly resources: TextResources;
  /** Builds registered components by name, so recipes compose them (see `composeTextAttack`). */
  component<K extends TextComponentKind>(kind: K, name: string, options?: Record<string, unknown>): Promise<TextComponentInstance<K>>;
}

/**
 * A text attack (recipe): a plain object with a namespaced name, strict zod options, the resources it needs and a
 * `create` that builds its goal, transformation, constraints and search for one victim (TextAttack's recipes).
 */
export interface TextAttackPlugin<Options extends object = Record<string, unknown>> {
  readonly kind: 'attack';
  readonly modality: 'text';
  readonly name: PluginName;
  readonly summary: string;
  /** Resources `create` uses; `gradients` means white-box victims only (a Parry encoder). */
  readonly needs: readonly TextResourceName[];
  /** The goals the recipe supports (default: all). */
  readonly goals: readonly GoalKind[];
  readonly options: Readonly<Options>;
  readonly optionsSchema: z.ZodType<Options>;
  create(context: TextBuildContext): TextAttack | Promise<TextAttack>;
}

/** An attack plugin, image or text (discriminated by `modality`). */
export type AttackPlugin<Options extends object = Record<string, unknown>> = ImageAttackPlugin<Options> | TextAttackPlugin<Options>;

/** The kinds of text-attack components. */
export type TextComponentKind = 'transformation' | 'constraint' | 'search' | 'goal';
/** What a component of each kind builds. */
export type TextComponentInstance<K extends TextComponentKind> = K extends 'transformation'
  ? Transformation
  : K extends 'constraint'
    ? Constraint
    : K extends 'search'
      ? SearchMethod
      : GoalFunction;

/** A registered text-attack component: options in (validated by the factory), instance out (built per victim). */
export interface TextComponentPlugin<K extends TextComponentKind = TextComponentKind, Options extends object = Record<string, unknown>> {
  readonly kind: K;
  readonly modality: 'text';
  readonly name: PluginName;
  readonly summary: string;
  readonly needs: readonly TextResourceName[];
  readonly options: Readonly<Options>;
  readonly optionsSchema: z.ZodType<Options>;
  create(context: TextBuildContext): TextComponentInstance<K> | Promise<TextComponentInstance<K>>;
}

/** A component plugin of any kind (a union over the kinds, so `kind` narrows it). */
export type AnyTextComponentPlugin = { [K in TextComponentKind]: TextComponentPlugin<K, any> }[TextComponentKind];
export type Plugin = AttackPlugin<any> | DefensePlugin<any> | AnyTextComponentPlugin;
/** Every plugin kind the registry holds. */
export const PLUGIN_KINDS = ['attack', 'defense', 'transformation', 'constraint', 'search', 'goal'] as const;
export type PluginKind = Plugin['kind'];

/** A plugin factory: options in, plain plugin object out. Calling it with no argument gives the defaults. */
export type PluginFactory<P extends Plugin | TextComponentPlugin<any, any> = Plugin, Input = any> = (options?: Input) => P;

/** Turn a zod error into one line that names the plugin, the option and what is wrong. */
export function formatOptionError(pluginName: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue.path.length ? issue.path.join('.') : '(options)';
  if (issue.code === 'unrecognized_keys') {
    return `${pluginName}: unknown option ${issue.keys.map((k) => `"${k}"`).join(', ')} (see \`parry list\` for its options)`;
  }
  return `${pluginName}: option "${path}" ${issue.message.replace(/^Invalid input: /, '')}`;
}

/** Validate options against a schema, throwing a `UsageError` with one clear line. */
export function parseOptions<S extends z.ZodType>(pluginName: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw new UsageError(formatOptionError(pluginName, r.error));
  return r.data;
}

export interface AttackSpec<S extends z.ZodObject> {
  name: PluginName;
  summary: string;
  /** A fixed norm, or one chosen by the options (e.g. `{ norm: 'l2' }`). */
  norm: Norm | ((options: z.output<S>) => Norm);
  mode: ImageAttackPlugin['mode'];
  criteria?: readonly Criterion['kind'][];
  needs: readonly AttackNeed[];
  options: S;
  run(
    model: Classifier,
    x: tf.Tensor,
    criterion: Criterion,
    context: AttackContext,
    options: z.output<S>,
  ): Promise<AttackRunOutput> | AttackRunOutput;
}

/**
 * Template for an attack factory (Foolbox's `BaseGradientDescent` idea as a function): validates options with the
 * zod schema (strict: unknown keys are errors) and returns the plain plugin object.
 */
export function defineAttack<S extends z.ZodObject>(spec: AttackSpec<S>): PluginFactory<ImageAttackPlugin<z.output<S>>, z.input<S>> {
  const schema = spec.options.strict() as unknown as z.ZodType<z.output<S>>;
  return (input?: z.input<S>) => {
    const options = parseOptions(spec.name, schema, input);
    return {
      kind: 'attack',
      modality: 'image',
      name: spec.name,
      summary: spec.summary,
      norm: typeof spec.norm === 'function' ? spec.norm(options) : spec.norm,
      mode: spec.mode,
      criteria: spec.criteria ?? ['untargeted', 'targeted'],
      needs: spec.needs,
      options,
      optionsSchema: schema,
      run: (model, x, criterion, context) => spec.run(model, x, criterion, context, options),
    };
  };
}

export interface DefenseSpec<S extends z.ZodObject> {
  name: PluginName;
  summary: string;
  needs?: readonly AttackNeed[];
  options: S;
}

/** An image defense: the hooks of the image trainer. */
export interface ImageDefenseSpec<S extends z.ZodObject> extends DefenseSpec<S> {
  /** Default `image`. */
  modality?: 'image';
  /** Build the hooks for one instance (state lives in this closure, so every factory call starts fresh). */
  create(options: z.output<S>): DefenseHooks & { dispose?(): void };
}

/** A text defense: the hooks of the text trainer. */
export interface TextDefenseSpec<S extends z.ZodObject> extends DefenseSpec<S> {
  modality: 'text';
  create(options: z.output<S>): TextDefenseHooks & { dispose?(): void };
}

/**
 * Template for a defense factory, the counterpart of `defineAttack`: validates options with the zod schema (strict)
 * and returns the plain plugin object with the hooks `create` returned.
 */
export function defineDefense<S extends z.ZodObject>(spec: TextDefenseSpec<S>): PluginFactory<TextDefensePlugin<z.output<S>>, z.input<S>>;
export function defineDefense<S extends z.ZodObject>(spec: ImageDefenseSpec<S>): PluginFactory<ImageDefensePlugin<z.output<S>>, z.input<S>>;
export function defineDefense<S extends z.ZodObject>(spec: ImageDefenseSpec<S> | TextDefenseSpec<S>): PluginFactory<DefensePlugin<z.output<S>>, z.input<S>> {
  const schema = spec.options.strict() as unknown as z.ZodType<z.output<S>>;
  return (input?: z.input<S>) => {
    const options = parseOptions(spec.name, schema, input);
    return {
      ...spec.create(options),
      kind: 'defense',
      modality: spec.modality ?? 'image',
      name: spec.name,
      summary: spec.summary,
      options,
      optionsSchema: schema,
      needs: spec.needs ?? [],
    } as DefensePlugin<z.output<S>>;
  };
}

/** The spec of a text attack (recipe) for {@link defineTextAttack}. */
export interface TextAttackSpec<S extends z.ZodObject> {
  name: PluginName;
  summary: string;
  needs?: readonly TextResourceName[];
  /** Goals the recipe supports (default: all). */
  goals?: readonly GoalKind[];
  options: S;
  create(context: TextBuildContext, options: z.output<S>): TextAttack | Promise<TextAttack>;
}

/** Template for a text-attack factory: strict zod options, the plain plugin object. */
export function defineTextAttack<S extends z.ZodObject>(spec: TextAttackSpec<S>): PluginFactory<TextAttackPlugin<z.output<S>>, z.input<S>> {
  const schema = spec.options.strict() as unknown as z.ZodType<z.output<S>>;
  return (input?: z.input<S>) => {
    const options = parseOptions(spec.name, schema, input);
    return {
      kind: 'attack',
      modality: 'text',
      name: spec.name,
      summary: spec.summary,
      needs: spec.needs ?? [],
      goals: spec.goals ?? GOAL_KINDS,
      options,
      optionsSchema: schema,
      create: (context) => spec.create(context, options),
    };
  };
}

/** The spec of a text-attack component for {@link defineTextComponent}. */
export interface TextComponentSpec<K extends TextComponentKind, S extends z.ZodObject> {
  kind: K;
  name: PluginName;
  summary: string;
  needs?: readonly TextResourceName[];
  options: S;
  create(context: TextBuildContext, options: z.output<S>): TextComponentInstance<K> | Promise<TextComponentInstance<K>>;
}

/** Template for a component factory (transformation, constraint, search method or goal). */
export function defineTextComponent<K extends TextComponentKind, S extends z.ZodObject>(
  spec: TextComponentSpec<K, S>,
): PluginFactory<TextComponentPlugin<K, z.output<S>>, z.input<S>> {
  const schema = spec.options.strict() as unknown as z.ZodType<z.output<S>>;
  return (input?: z.input<S>) => {
    const options = parseOptions(spec.name, schema, input);
    return {
      kind: spec.kind,
      modality: 'text',
      name: spec.name,
      summary: spec.summary,
      needs: spec.needs ?? [],
      options,
      optionsSchema: schema,
      create: (context) => spec.create(context, options),
    };
  };
}
