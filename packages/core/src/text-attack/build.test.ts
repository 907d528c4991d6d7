import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { defineAttack, defineDefense, defineTextAttack, defineTextComponent } from '../plugin.js';
import { createRegistry } from '../registry.js';
import { buildTextAttack, composeTextAttack } from './build.js';
import type { Constraint, SearchMethod, Transformation } from './contract.js';
import { goalFunction, isMultiLabelGoal, parseGoal } from './goals.js';
import type { TextResources } from './resources.js';
import { runTextAttack } from './run.js';
import type { TextVictim } from './victim.js';

/** Positive exactly when "great" occurs; every scored text is logged (one query each). */
function victim(outputKind: 'single-label' | 'multi-label' = 'single-label', whiteBox = false): TextVictim & { log: string[] } {
  const log: string[] = [];
  return {
    name: 'keyed',
    labelNames: ['neg', 'pos'],
    outputKind,
    log,
    get queries() {
      return log.length;
    },
    async predict(texts) {
      log.push(...texts);
      return Float32Array.from(texts.flatMap((t) => (/\bgreat\b/.test(t) ? [0.1, 0.9] : [0.8, 0.2])));
    },
    ...(whiteBox ? { whiteBox: {} as never } : {}),
  };
}

const resources: TextResources = {
  stopwords: () => new Set(['the', 'was']),
  synonyms: async () => (w: string) => (w === 'great' ? ['fine'] : []),
  wordVectors: () => Promise.reject(new UsageError('no vectors here')),
  maskedLm: () => Promise.reject(new UsageError('no masked LM here')),
};

/** Components a recipe can be composed from (stand-ins for @parry/attacks' registered ones). */
const swap = defineTextComponent({
  kind: 'transformation',
  name: 'test/synonym-swap',
  summary: 'synonyms from the resources',
  needs: ['wordnet'],
  options: z.object({}),
  create: async (ctx): Promise<Transformation> => {
    const syn = await ctx.resources.synonyms();
    return { name: 'synonym-swap', candidates: (state, indices) => indices.flatMap((index) => syn(state.words[index]).map((word) => ({ index, word }))) };
  },
});
const stop = defineTextComponent({
  kind: 'constraint',
  name: 'test/stopwords',
  summary: 'leave stopwords alone',
  options: z.object({}),
  create: (ctx): Constraint => {
    const words = ctx.resources.stopwords();
    return { name: 'stopwords', allowIndex: (state, index) => !words.has(state.words[index]) };
  },
});
const maxWords = defineTextComponent({
  kind: 'constraint',
  name: 'test/max-words',
  summary: 'at most max words changed',
  options: z.object({ max: z.number().int().positive().default(1) }),
  create: (_ctx, o): Constraint => ({ name: 'max-words', allowIndex: (state, index) => state.modified.has(index) || state.modified.size < o.max }),
});
const firstFit = defineTextComponent({
  kind: 'search',
  name: 'test/first-fit',
  summary: 'try each word in order, keep the first success',
  options: z.object({}),
  create: (): SearchMethod => ({
    name: 'first-fit',
    async run(initial, _eval, ctx) {
      let state = initial;
      for (let i = 0; i < state.numWords; i++) {
        if (ctx.constraints.some((c) => c.allowIndex && !c.allowIndex(state, i))) continue;
        for (const c of ctx.transformation.candidates(state, [i], ctx)) {
          const next = state.replace(c.index, c.word);
          const [e] = await ctx.evaluate([next.text]);
          if (e?.success) return next;
          if (e) state = next;
        }
      }
      return state;
    },
  }),
});

const composed = composeTextAttack({
  name: 'test/composed',
  summary: 'synonyms, stopwords, first fit',
  options: z.object({ maxWords: z.number().int().positive().default(2) }),
  transformation: 'test/synonym-swap',
  constraints: (o) => ['stopwords', { name: 'test/max-words', options: { max: o.maxWords } }],
  search: 'first-fit',
});

describe('one registry for every plugin kind', () => {
  it('holds image attacks, text attacks, components and defenses, with modality and facts', () => {
    const image = defineAttack({ name: 'test/img', summary: 'image', norm: 'linf', mode: 'fixed-epsilon', needs: [], options: z.object({}), run: (_m, x, _c, ctx) => ({ adversarials: ctx.epsilons.map(() => x.clone()) }) });
    const textDefense = defineDefense({ name: 'test/td', summary: 'text defense', modality: 'text', options: z.object({}), create: () => ({}) });
    const r = createRegistry([image, composed, swap, stop, firstFit, textDefense]);
    expect(r.names('attack')).toEqual(['test/composed', 'test/img']);
    expect(r.names('transformation')).toEqual(['test/synonym-swap']);
    const info = Object.fromEntries(r.info().map((i) => [i.name, i]));
    expect(info['test/img']).toMatchObject({ kind: 'attack', modality: 'image', facts: { norm: 'linf' } });
    expect(info['test/composed']).toMatchObject({ kind: 'attack', modality: 'text' });
    expect(info['test/composed'].options.map((o) => o.name)).toEqual(['maxWords']);
    expect(info['test/td']).toMatchObject({ kind: 'defense', modality: 'text', facts: { models: 'text' } });
    expect(info['test/synonym-swap']).toMatchObject({ kind: 'transformation', modality: 'text', facts: { needs: 'wordnet' } });
    expect(() => r.resolve('synonym-swap', 'attack')).toThrow(/unknown attack "synonym-swap"/);
    expect(() => r.resolve('test/synonym-swap', 'attack')).toThrow(/is a transformation, not an attack/);
  });

  it('takes plain objects written before modality existed: attacks are image attacks, defenses say it in `domain`', () => {
    const legacyDefense = () => ({ kind: 'defense' as const, domain: 'text', name: 'old/def' as const, summary: 'old', options: {}, optionsSchema: z.object({}) });
    const r = createRegistry([legacyDefense as never]);
    expect(r.create('old/def').modality).toBe('text');
  });

  it('refuses a text attack without create() or goals, and a component with the wrong modality', () => {
    const r = createRegistry();
    const good = composed();
    expect(() => r.register((() => ({ ...good, create: undefined })) as never)).toThrow(/needs a create\(\) function/);
    expect(() => r.register((() => ({ ...good, goals: 'all' })) as never)).toThrow(/goals must be an array/);
    expect(() => r.register((() => ({ ...swap(), modality: 'image' })) as never)).toThrow(/modality must be "text"/);
    expect(() => r.register((() => ({ ...good, kind: 'recipe' })) as never)).toThrow(/kind must be one of attack, defense/);
  });
});

describe('goal vocabulary', () => {
  it('parses --goal values and refuses bad ones with one line', () => {
    expect(parseGoal('untargeted')).toEqual({ kind: 'untargeted' });
    expect(parseGoal('targeted:2')).toEqual({ kind: 'targeted', target: 2 });
    expect(parseGoal('flip-label:0')).toEqual({ kind: 'flip-label', label: 0 });
    expect(parseGoal('remove-all-gold')).toEqual({ kind: 'remove-all-gold' });
    expect(() => parseGoal('targeted')).toThrow(/targeted needs a class id, e\.g\. targeted:1/);
    expect(() => parseGoal('targeted:-1')).toThrow(UsageError);
    expect(() => parseGoal('untargeted:3')).toThrow(/takes no argument/);
    expect(() => parseGoal('flip')).toThrow(/is not a goal; use one of/);
  });

  it('builds the goal function of each kind, for the right models', () => {
    expect(goalFunction({ kind: 'targeted', target: 1 }).outputKind).toBe('single-label');
    expect(goalFunction({ kind: 'flip-any-gold' }).outputKind).toBe('multi-label');
    expect(isMultiLabelGoal('remove-all-gold')).toBe(true);
    const g = goalFunction({ kind: 'untargeted' }).bind({ label: 1 }, 2);
    expect(g.success([0.8, 0.2])).toBe(true);
    expect(g.success([0.2, 0.8])).toBe(false);
  });
});

describe('buildTextAttack and composeTextAttack', () => {
  const registry = () => createRegistry([composed, swap, stop, maxWords, firstFit]);

  it('a composed recipe runs: components resolved by name (short names too), options passed through', async () => {
    const v = victim();
    const { attack, plugin } = await buildTextAttack(registry(), 'composed', { maxWords: 1 }, { victim: v, resources });
    expect(plugin.options).toEqual({ maxWords: 1 });
    expect(attack.name).toBe('test/composed');
    expect(attack.constraints.map((c) => c.name)).toEqual(['stopwords', 'max-words']);
    const { records, summary } = await runTextAttack(attack, v, [{ text: 'the film was great', label: 1 }, { text: 'the film was dull', label: 0 }]);
    expect(records[0]).toMatchObject({ status: 'successful', perturbed: 'the film was fine' });
    expect(records[1].status).toBe('failed'); // correctly classified, but no word has a synonym to swap in
    expect(summary.totalQueries).toBe(v.log.length);
  });

  it('unknown recipe options are refused with one line', async () => {
    await expect(buildTextAttack(registry(), 'composed', { nope: 1 }, { victim: victim(), resources })).rejects.toThrow(/^test\/composed: unknown option "nope"/);
  });

  it('a goal for the wrong kind of model, or one the recipe does not support, is refused', async () => {
    await expect(buildTextAttack(registry(), 'composed', {}, { victim: victim(), goal: { kind: 'flip-any-gold' }, resources })).rejects.toThrow(
      /goal flip-any-gold is for multi-label models, but keyed is single-label/,
    );
    const narrow = defineTextAttack({
      name: 'test/narrow',
      summary: 'untargeted only',
      goals: ['untargeted'],
      options: z.object({}),
      create: () => {
        throw new Error('not reached');
      },
    });
    await expect(buildTextAttack(createRegistry([narrow]), 'narrow', {}, { victim: victim(), goal: { kind: 'targeted', target: 0 }, resources })).rejects.toThrow(
      /does not support goal targeted; it supports untargeted/,
    );
  });

  it('a recipe that needs gradients is refused for a black-box victim, and an image attack is refused as a text attack', async () => {
    const whiteOnly = defineTextAttack({ name: 'test/white', summary: 'needs gradients', needs: ['gradients'], options: z.object({}), create: () => ({}) as never });
    const image = defineAttack({ name: 'test/img', summary: 'image', norm: 'linf', mode: 'fixed-epsilon', needs: [], options: z.object({}), run: (_m, x, _c, ctx) => ({ adversarials: ctx.epsilons.map(() => x.clone()) }) });
    const r = createRegistry([whiteOnly, image]);
    await expect(buildTextAttack(r, 'white', {}, { victim: victim(), resources })).rejects.toThrow(/test\/white needs gradients .* keyed is black-box/);
    await expect(buildTextAttack(r, 'img', {}, { victim: victim(), resources })).rejects.toThrow(/test\/img is an image attack/);
  });

  it('a create() that returns no search is refused with one line', async () => {
    const broken = defineTextAttack({ name: 'test/broken', summary: 'no search', options: z.object({}), create: (ctx) => ({ name: 'b', goal: ctx.goal, transformation: { name: 't', candidates: () => [] }, constraints: [] }) as never });
    await expect(buildTextAttack(createRegistry([broken]), 'broken', {}, { victim: victim(), resources })).rejects.toThrow(/returned an attack without a search/);
  });
});

describe('the image form of the goal vocabulary', () => {
  it('criterionFor: untargeted keeps labels, targeted aims at the class, multi-label goals are refused', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const { criterionFor } = await import('../criteria.js');
    const { initBackend } = await import('../backend.js');
    await initBackend({ backend: 'cpu' });
    const labels = tf.tensor1d([0, 2], 'int32');
    expect(criterionFor({ kind: 'untargeted' }, labels, 3)).toEqual({ kind: 'untargeted', labels });
    const t = criterionFor(parseGoal('targeted:1'), labels, 3);
    expect(t.kind).toBe('targeted');
    expect(Array.from(await (t as { targets: import('@tensorflow/tfjs-core').Tensor1D }).targets.data())).toEqual([1, 1]);
    expect(() => criterionFor({ kind: 'targeted', target: 3 }, labels, 3)).toThrow(/class id in 0\.\.2/);
    expect(() => criterionFor({ kind: 'flip-any-gold' }, labels, 3)).toThrow(/image attacks take untargeted or targeted/);
    tf.dispose([labels, (t as { targets: import('@tensorflow/tfjs-core').Tensor1D }).targets]);
  });
});
