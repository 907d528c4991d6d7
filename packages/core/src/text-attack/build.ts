/**
 * Building text attacks from the registry: `buildTextAttack` turns a registered recipe name + options into a
 * {@link TextAttack} for one victim (checking its goals and needs first), and `composeTextAttack` writes a recipe
 * from registered components, as a plain factory that a config file or a third-party package can register.
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import {
  type PluginFactory,
  type PluginName,
  type TextAttackPlugin,
  type TextBuildContext,
  type TextComponentInstance,
  type TextComponentKind,
  type TextComponentPlugin,
  parseOptions,
} from '../plugin.js';
import type { Registry } from '../registry.js';
import type { Constraint, SearchMethod, TextAttack, Transformation } from './contract.js';
import { GOAL_KINDS, type GoalFunction, type GoalKind, type GoalSpec, goalFunction, isMultiLabelGoal } from './goals.js';
import type { TextResourceName, TextResources } from './resources.js';
import type { TextVictim } from './victim.js';

function checkNeeds(what: string, needs: readonly TextResourceName[], victim: TextVictim): void {
  if (needs.includes('gradients') && !victim.whiteBox) {
    throw new UsageError(`${what} needs gradients (a Parry model folder); ${victim.name} is black-box: pick a recipe without "gradients" in \`parry list\``);
  }
}

/** A build context over a registry: `component()` creates registered components for the same victim and resources. */
export function textBuildContext(registry: Registry, base: { victim: TextVictim; goal: GoalFunction; resources: TextResources }): TextBuildContext {
  const context: TextBuildContext = {
    ...base,
    async component<K extends TextComponentKind>(kind: K, name: string, options?: Record<string, unknown>): Promise<TextComponentInstance<K>> {
      const plugin = registry.create<TextComponentPlugin<K>>(name, options ?? {}, kind);
      checkNeeds(plugin.name, plugin.needs, base.victim);
      return plugin.create(context);
    },
  };
  return context;
}

/**
 * Build a registered text attack for one victim: resolve the name (short aliases work), validate options, check that
 * the goal suits both the victim and the recipe and that a white-box recipe gets a white-box victim, then `create`.
 */
export async function buildTextAttack(
  registry: Registry,
  name: string,
  options: Record<string, unknown> | undefined,
  base: { victim: TextVictim; goal?: GoalSpec; resources: TextResources },
): Promise<{ plugin: TextAttackPlugin; attack: TextAttack }> {
  const full = registry.resolve(name, 'attack');
  const plugin = registry.create<TextAttackPlugin>(full, options ?? {}, 'attack');
  if (plugin.modality !== 'text') throw new UsageError(`${full} is an image attack; text models take text attacks (see \`parry list\`)`);
  const goal: GoalSpec = base.goal ?? (base.victim.outputKind === 'multi-label' ? { kind: 'flip-any-gold' } : { kind: 'untargeted' });
  if (isMultiLabelGoal(goal) !== (base.victim.outputKind === 'multi-label')) {
    throw new UsageError(`goal ${goal.kind} is for ${isMultiLabelGoal(goal) ? 'multi' : 'single'}-label models, but ${base.victim.name} is ${base.victim.outputKind}; pick a matching --goal`);
  }
  if (!plugin.goals.includes(goal.kind)) throw new UsageError(`${full} does not support goal ${goal.kind}; it supports ${plugin.goals.join(', ')}`);
  checkNeeds(full, plugin.needs, base.victim);
  const context = textBuildContext(registry, { victim: base.victim, goal: goalFunction(goal), resources: base.resources });
  const attack = await plugin.create(context);
  for (const part of ['goal', 'transformation', 'search'] as const) {
    if (!attack || typeof attack !== 'object' || !attack[part]) throw new UsageError(`${full}: create() returned an attack without a ${part}`);
  }
  if (!Array.isArray(attack.constraints)) throw new UsageError(`${full}: create() returned an attack whose constraints are not an array`);
  return { plugin, attack };
}

/** A component by registered name, by name with options, or an instance. */
export type ComponentRef<K extends TextComponentKind> = string | { name: string; options?: Record<string, unknown> } | TextComponentInstance<K>;

/** A recipe written from components (TextAttack's `Attack(goal, constraints, transformation, search)`). */
export interface ComposeTextAttackSpec<S extends z.ZodObject = z.ZodObject> {
  name: PluginName;
  summary: string;
  /** Options of the recipe itself (strict); the component lists may be functions of them. */
  options?: S;
  /** Extra resources beyond those of the components (checked before building). */
  needs?: readonly TextResourceName[];
  goals?: readonly GoalKind[];
  transformation: ComponentRef<'transformation'> | ((options: z.output<S>) => ComponentRef<'transformation'>);
  constraints: ReadonlyArray<ComponentRef<'constraint'>> | ((options: z.output<S>) => ReadonlyArray<ComponentRef<'constraint'>>);
  search: ComponentRef<'search'> | ((options: z.output<S>) => ComponentRef<'search'>);
  /** Default: the goal of the run (`--goal`); a registered goal component overrides it. */
  goal?: ComponentRef<'goal'>;
  notes?: readonly string[];
}

const isInstance = (ref: unknown): boolean =>
  typeof ref === 'object' && ref !== null && !('options' in ref && 'name' in ref && Object.keys(ref).every((k) => k === 'name' || k === 'options'));

/**
 * Write a text-attack recipe from registered components: the result is a plugin factory like any other, so it can be
 * registered from a package or from `parry.config.mjs`, and `--opt <name>.<option>=...` sets its options.
 */
export function composeTextAttack<S extends z.ZodObject>(spec: ComposeTextAttackSpec<S>): PluginFactory<TextAttackPlugin<z.output<S>>, z.input<S>> {
  const schema = (spec.options ?? z.object({})).strict() as unknown as z.ZodType<z.output<S>>;
  return (input?: z.input<S>) => {
    const options = parseOptions(spec.name, schema, input);
    const resolve = <K extends TextComponentKind>(ctx: TextBuildContext, kind: K, ref: ComponentRef<K>): Promise<TextComponentInstance<K>> | TextComponentInstance<K> => {
      if (typeof ref === 'string') return ctx.component(kind, ref);
      if (!isInstance(ref)) {
        const r = ref as { name: string; options?: Record<string, unknown> };
        return ctx.component(kind, r.name, r.options);
      }
      return ref as TextComponentInstance<K>;
    };
    const pick = <T>(v: T | ((o: z.output<S>) => T)): T => (typeof v === 'function' ? (v as (o: z.output<S>) => T)(options) : v);
    return {
      kind: 'attack',
      modality: 'text',
      name: spec.name,
      summary: spec.summary,
      needs: spec.needs ?? [],
      goals: spec.goals ?? GOAL_KINDS,
      options,
      optionsSchema: schema,
      async create(ctx): Promise<TextAttack> {
        const transformation = (await resolve(ctx, 'transformation', pick(spec.transformation) as ComponentRef<'transformation'>)) as Transformation;
        const constraints: Constraint[] = [];
        for (const c of pick(spec.constraints) as ReadonlyArray<ComponentRef<'constraint'>>) constraints.push((await resolve(ctx, 'constraint', c)) as Constraint);
        const search = (await resolve(ctx, 'search', pick(spec.search) as ComponentRef<'search'>)) as SearchMethod;
        const goal = spec.goal ? ((await resolve(ctx, 'goal', spec.goal)) as GoalFunction) : ctx.goal;
        return { name: spec.name, goal, transformation, constraints, search, notes: spec.notes ?? [], options: { ...options } };
      },
    };
  };
}
