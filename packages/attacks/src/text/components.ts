/**
 * Text-attack components as plugins. Core's `Registry` knows only image-style attacks (`run(model, x, criterion)`) and
 * trainer defenses, so goal functions, transformations, constraints, search methods and recipes are described here
 * with the same shape ideas: a namespaced name, a summary, a strict zod options schema and a factory.
 */
import { parseOptions, type PluginName, UsageError, z } from '@parry/core';

/** What a text component is. */
export type TextComponentKind = 'goal' | 'transformation' | 'constraint' | 'search' | 'recipe';

/** A registered text component: options in (validated), instance out. */
export interface TextComponent<Options extends object = any, Instance = unknown> {
  readonly kind: TextComponentKind;
  readonly name: PluginName;
  readonly summary: string;
  readonly optionsSchema: z.ZodType<Options>;
  /** Validate `options` (strict: unknown keys are errors) and build the instance. */
  create(options?: unknown): Instance;
}

/** Define a text component with a strict options schema. */
export function defineTextComponent<S extends z.ZodObject, I>(spec: {
  kind: TextComponentKind;
  name: PluginName;
  summary: string;
  options: S;
  create(options: z.output<S>): I;
}): TextComponent<z.output<S>, I> {
  const schema = spec.options.strict() as unknown as z.ZodType<z.output<S>>;
  return {
    kind: spec.kind,
    name: spec.name,
    summary: spec.summary,
    optionsSchema: schema,
    create: (input?: unknown) => spec.create(parseOptions(spec.name, schema, input)),
  };
}

/** One row of `parry list` for a text component. */
export interface TextComponentInfo {
  name: string;
  kind: TextComponentKind;
  summary: string;
  options: Array<{ name: string; type: string; default?: unknown; description?: string }>;
}

/** Documented options of a component (functions and other non-JSON options show as `any`). */
export function describeTextComponent(c: TextComponent): TextComponentInfo {
  let props: Record<string, any> = {};
  try {
    props = (z.toJSONSchema(c.optionsSchema, { io: 'input', unrepresentable: 'any' }) as any).properties ?? {};
  } catch {
    props = {};
  }
  const options = Object.entries(props).map(([name, p]) => ({
    name,
    type: p.enum ? p.enum.map((v: unknown) => JSON.stringify(v)).join(' | ') : String(p.type ?? 'any'),
    default: p.default,
    description: p.description,
  }));
  return { name: c.name, kind: c.kind, summary: c.summary, options };
}

/** Find a component by full name or unambiguous short name (`pwws` -> `parry/pwws`). */
export function findTextComponent<C extends TextComponent>(components: readonly C[], name: string, kind: TextComponentKind): C {
  const ofKind = components.filter((c) => c.kind === kind);
  const exact = ofKind.find((c) => c.name === name);
  if (exact) return exact;
  const short = ofKind.filter((c) => c.name.split('/')[1] === name);
  if (short.length === 1) return short[0];
  throw new UsageError(`unknown text ${kind} "${name}"; known: ${ofKind.map((c) => c.name.split('/')[1]).join(', ')} (see \`parry list\`)`);
}
