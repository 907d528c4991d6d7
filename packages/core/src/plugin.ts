import type * as tf from '@tensorflow/tfjs-core';
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
}

/** The plain object an attack factory returns. No base class needed; `defineAttack` is a template for the same shape. */
export interface AttackPlugin<Options extends object = Record<string, unknown>> {
  readonly kind: 'attack';
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

/** Hooks a defense/regularizer plugin may have; the trainer calls only the hooks present. */
export interface DefensePlugin<Options extends object = Record<string, unknown>> {
  readonly kind: 'defense';
  readonly name: PluginName;
  readonly summary: string;
  readonly options: Readonly<Options>;
  readonly optionsSchema: z.ZodType<Options>;
  readonly needs?: readonly AttackNeed[];
  transformBatch?(batch: { x: tf.Tensor; y: tf.Tensor }, context: { rng: Rng; model: Classifier; epoch: number; step: number }): { x: tf.Tensor; y: tf.Tensor };
  lossTerm?(batch: { x: tf.Tensor; y: tf.Tensor; logits: tf.Tensor2D }, context: { rng: Rng; model: Classifier; epoch: number; step: number }): tf.Scalar;
  beforeStep?(context: { epoch: number; step: number }): void;
  afterStep?(context: { epoch: number; step: number; loss: number }): void;
  afterEpoch?(context: { epoch: number; metrics: Record<string, number> }): void | 'stop';
}

export type Plugin = AttackPlugin<any> | DefensePlugin<any>;

/** A plugin factory: options in, plain plugin object out. Calling it with no argument gives the defaults. */
export type PluginFactory<P extends Plugin = Plugin, Input = any> = (options?: Input) => P;

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
  mode: AttackPlugin['mode'];
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
export function defineAttack<S extends z.ZodObject>(spec: AttackSpec<S>): PluginFactory<AttackPlugin<z.output<S>>, z.input<S>> {
  const schema = spec.options.strict() as unknown as z.ZodType<z.output<S>>;
  return (input?: z.input<S>) => {
    const options = parseOptions(spec.name, schema, input);
    return {
      kind: 'attack',
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
