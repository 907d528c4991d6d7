import { builtinTextComponents } from '@parry/attacks';
import { buildTextAttack, createRegistry, runTextAttack, TextState, UsageError } from '@parry/core';
import { describeTextAttackConformance, toyTextExamples, toyTextResources, toyTextVictim } from '@parry/core/testing';
import { describe, expect, it } from 'vitest';
import plugins, { exampleTypoLite, exampleVowelDrop, vowelDrops } from './index.js';

/** The `parry/*` components the recipe names (the CLI registers them from @parry/attacks) plus this package's own. */
const components = [...builtinTextComponents, exampleVowelDrop];

describeTextAttackConformance(exampleTypoLite, { components });
describeTextAttackConformance(exampleTypoLite, { components, options: { maxModificationRate: 0.5, wir: 'unk' } });

describe('example/vowel-drop', () => {
  it('drops one vowel, never the first letter, keeping the case pattern', () => {
    expect(vowelDrops('good')).toEqual(['god']);
    expect(vowelDrops('Great')).toEqual(['Grat', 'Gret']);
    expect(vowelDrops('AWFUL')).toEqual(['AWFL']);
    expect(vowelDrops('idea')).toEqual(['ida', 'ide']);
    expect(vowelDrops('rhythm')).toEqual([]);
    expect(vowelDrops('bad', 4)).toEqual([]);
  });

  it('proposes candidates for the words asked only', async () => {
    const t = await exampleVowelDrop().create({} as never);
    const state = new TextState('The movie was good.');
    const rng = undefined as never;
    expect(t.candidates(state, [1, 3], { victim: toyTextVictim(), goal: undefined as never, rng, counters: { gradientCalls: 0 } })).toEqual([
      { index: 1, word: 'mvie' },
      { index: 1, word: 'move' },
      { index: 1, word: 'movi' },
      { index: 3, word: 'god' },
    ]);
  });

  it('refuses bad options with one line', () => {
    expect(() => exampleVowelDrop({ minLength: 1 })).toThrow(UsageError);
    expect(() => exampleTypoLite({ wir: 'gradient' as 'delete' })).toThrow(/example\/typo-lite: option "wir"/);
  });
});

describe('example/typo-lite through the registry, as the CLI loads it', () => {
  it('the default export registers both factories next to the built-in components', () => {
    const registry = createRegistry([...builtinTextComponents, ...plugins]);
    expect(registry.names('attack')).toContain('example/typo-lite');
    expect(registry.names('transformation')).toContain('example/vowel-drop');
    expect(registry.resolve('typo-lite', 'attack')).toBe('example/typo-lite');
  });

  it('attacks the toy victim with vowel drops only, and says which component is missing when it is not registered', async () => {
    const registry = createRegistry([...builtinTextComponents, ...plugins]);
    const victim = toyTextVictim();
    const { attack } = await buildTextAttack(registry, 'typo-lite', {}, { victim, resources: toyTextResources() });
    const { records, summary } = await runTextAttack(attack, victim, toyTextExamples());
    expect(summary.successful).toBeGreaterThan(0);
    for (const r of records) for (const c of r.changed) expect(vowelDrops(c.before)).toContain(c.after);
    expect(records[0].perturbed).toBe('The film was god but long.');

    const bare = createRegistry(plugins.filter((f) => f !== exampleVowelDrop));
    await expect(buildTextAttack(bare, 'typo-lite', {}, { victim: toyTextVictim(), resources: toyTextResources() })).rejects.toThrow(/unknown transformation "example\/vowel-drop"/);
  });
});
