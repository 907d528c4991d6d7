import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { defineAttack } from './plugin.js';
import { createRegistry } from './registry.js';

const noop = defineAttack({
  name: 'test/noop',
  summary: 'returns the input',
  norm: 'linf',
  mode: 'fixed-epsilon',
  needs: [],
  options: z.object({ steps: z.number().int().positive().default(3).describe('how many') }),
  run: (_m, x, _c, ctx) => ({ adversarials: ctx.epsilons.map(() => x.clone()) }),
});

describe('plugin registry', () => {
  it('creates plugins by full name or unambiguous alias, with defaults filled in', () => {
    const r = createRegistry([noop]);
    expect(r.create('test/noop').options).toEqual({ steps: 3 });
    expect(r.create('noop', { steps: 5 }).options).toEqual({ steps: 5 });
  });

  it('refuses an unknown name with one line listing what exists', () => {
    const r = createRegistry([noop]);
    expect(() => r.create('nosuch', {}, 'attack')).toThrow(UsageError);
    expect(() => r.create('nosuch', {}, 'attack')).toThrow(/^unknown attack "nosuch"; known: test\/noop/);
  });

  it('refuses bad and unknown options naming the plugin and the option', () => {
    const r = createRegistry([noop]);
    expect(() => r.create('noop', { steps: -1 })).toThrow(/^test\/noop: option "steps" /);
    expect(() => r.create('noop', { stpes: 2 })).toThrow(/^test\/noop: unknown option "stpes"/);
  });

  it('refuses duplicates and malformed plugins', () => {
    const r = createRegistry([noop]);
    expect(() => r.register(noop)).toThrow(/already registered/);
    expect(() => r.register((() => ({ name: 'nonamespace', kind: 'attack' })) as any)).toThrow(/namespaced/);
    expect(() => r.register((() => ({ ...noop(), run: undefined })) as any)).toThrow(/run\(\)/);
    expect(() => r.register(42 as any)).toThrow(/factory function/);
  });

  it('lists options with types, defaults and descriptions', () => {
    const [info] = createRegistry([noop]).info();
    expect(info.options).toEqual([{ name: 'steps', type: 'integer (> 0)', default: 3, description: 'how many' }]);
    expect(info.facts.norm).toBe('linf');
  });
});
