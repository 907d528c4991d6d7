import * as tf from '@tensorflow/tfjs-core';
import { registerBuiltinAttacks } from '@parry/attacks';
import { createRegistry, createRng, initBackend, type TextTokenizer } from '@parry/core';
import { a2t, registerBuiltinDefenses, trainText } from '@parry/defenses';
import { perturbedText, validateResults } from '@parry/metrics';
import { createTransformerClassifier, smallConfig, type TransformerClassifier, wordPieceTokenizer } from '@parry/text';
import { parryVictim } from '@parry/attacks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackText, registryAttackRunner, textResources } from './text-attack.js';

// Real English words so WordNet (pwws) has synonyms to offer: "good"/"great"/"fine" carry the label.
const FILLER = ['the', 'movie', 'film', 'plot', 'was', 'and', 'acting', 'story', 'cast', 'music', 'scenes', 'ending'];
const POSITIVE = ['good', 'great', 'fine'];
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'awful', 'well', 'beneficial', 'dear', 'respectable', 'slap', 'bang', ...POSITIVE, ...FILLER];

function toyTexts(n: number, seed: number): { texts: string[]; labels: Int32Array } {
  const rng = createRng(seed);
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 5 + rng.int(4) }, () => FILLER[rng.int(FILLER.length)]);
    const pos = rng.float() < 0.5;
    if (pos) for (let k = 0; k < 2; k++) words[rng.int(words.length)] = POSITIVE[rng.int(POSITIVE.length)];
    texts.push(words.join(' '));
    labels.push(pos ? 1 : 0);
  }
  return { texts, labels: Int32Array.from(labels) };
}

let tok: TextTokenizer;
let model: TransformerClassifier;
const registry = registerBuiltinDefenses(registerBuiltinAttacks(createRegistry()));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tok = wordPieceTokenizer(VOCAB);
  model = createTransformerClassifier(
    smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 32, numHeads: 2, numLayers: 1, intermediateSize: 64, hiddenDropout: 0, labelNames: ['neg', 'pos'] }),
    { seed: 0 },
  );
  const set = toyTexts(240, 1);
  await trainText(model, { encodings: set.texts.map((t) => tok.encode(t)), labels: set.labels }, { epochs: 6, batchSize: 16, learningRate: 3e-3, seed: 0, padId: tok.padId });
}, 120_000);
afterAll(() => model?.dispose());

const examples = () => {
  const set = toyTexts(30, 9);
  return set.texts.map((text, i) => ({ text, label: set.labels[i] })).filter((e) => e.label === 1);
};

describe('attackText over the one registry', () => {
  it('pwws with WordNet: attacks, counts queries, and returns a results entry that validates', async () => {
    const victim = parryVictim(model, tok, { maxLength: 32 });
    const before = tf.memory().numTensors;
    const { summary, records, entry } = await attackText({ registry, attack: 'pwws', victim, examples: examples(), labelNames: ['neg', 'pos'], seed: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(summary.attack).toBe('parry/pwws');
    expect(summary.totalQueries).toBe(victim.queries);
    expect(summary.successful).toBeGreaterThan(0);
    expect(entry).toMatchObject({ modality: 'text', attack: 'parry/pwws', goal: { kind: 'untargeted' }, n: records.length, successful: summary.successful });
    const results = validateResults({
      schema: 'parry-results',
      version: 2,
      kind: 'eval',
      createdAt: new Date().toISOString(),
      command: ['test'],
      seed: 0,
      environment: {},
      dataset: { name: 'toy', source: 'memory', split: 'test', n: records.length },
      model: { modality: 'text', name: 'tiny bert', numLabels: 2, labelNames: ['neg', 'pos'], outputKind: 'single-label' },
      attacks: [entry],
    });
    expect(results.attacks[0].modality).toBe('text');
    // every example is kept, compact: the changed words rebuild each perturbed text
    expect(entry.examples.map((x) => x.index)).toEqual(records.map((r) => r.index));
    expect(entry.examples.map(perturbedText)).toEqual(records.map((r) => r.perturbed));
    expect(entry.examples.map((x) => x.queries)).toEqual(records.map((r) => r.queries));
  }, 120_000);

  it('recipe options change what the attack does: a modification-rate cap means fewer changed words', async () => {
    const run = (attackOptions: Record<string, unknown>) =>
      attackText({ registry, attack: 'parry/pwws', attackOptions, victim: parryVictim(model, tok, { maxLength: 32 }), examples: examples(), labelNames: ['neg', 'pos'], seed: 0 });
    const free = await run({});
    const capped = await run({ maxModificationRate: 0.1 });
    const changed = (r: typeof free) => r.records.reduce((s, x) => s + x.modifiedWords, 0);
    for (const r of capped.records) expect(r.modifiedWords).toBeLessThanOrEqual(Math.max(1, Math.ceil(0.1 * r.words)));
    expect(changed(capped)).toBeLessThan(changed(free));
    expect(capped.entry.options).toMatchObject({ maxModificationRate: 0.1 });
  }, 120_000);

  it('unknown recipe options and black-box victims of white-box recipes are refused with one line', async () => {
    const victim = parryVictim(model, tok, { maxLength: 32 });
    await expect(attackText({ registry, attack: 'pwws', attackOptions: { nope: 1 }, victim, examples: examples(), labelNames: ['neg', 'pos'] })).rejects.toThrow(
      /^parry\/pwws: unknown option "nope"/,
    );
    const blackBox = { name: 'bb', labelNames: ['neg', 'pos'], outputKind: 'single-label' as const, queries: 0, predict: victim.predict };
    await expect(attackText({ registry, attack: 'hotflip', victim: blackBox, examples: examples(), labelNames: ['neg', 'pos'] })).rejects.toThrow(/needs gradients/);
    await expect(attackText({ registry, attack: 'textfooler', victim: blackBox, examples: examples(), labelNames: ['neg', 'pos'] })).rejects.toThrow(
      /needs word vectors and bb is black-box: pass --word-vectors/,
    );
  });

  it('textResources: WordNet synonyms are single lower-case lemmas; word vectors come from the model', async () => {
    const r = textResources({ victim: parryVictim(model, tok) });
    const syn = await r.synonyms();
    expect(syn('good')).toContain('well');
    for (const s of syn('good')) expect(s).toMatch(/^[a-z]+(?:[ '-][a-z]+)*$/);
    const vectors = await r.wordVectors();
    expect(vectors.has('great')).toBe(true);
    expect(vectors.source).toMatch(/bert input embeddings/);
  });

  it('textResources: the stopword list a recipe names (NLTK, TextFooler), EDA when none is named', () => {
    const r = textResources({ victim: parryVictim(model, tok) });
    expect(r.stopwords('nltk').size).toBe(179);
    expect(r.stopwords('textfooler').size).toBe(266);
    expect(r.stopwords()).toBe(r.stopwords('eda'));
    expect(r.stopwords('textfooler').has('nothing')).toBe(true);
    expect(r.stopwords('nltk').has('nothing')).toBe(false);
  });
});

describe('registryAttackRunner: A2T resolves its recipe through the registry', () => {
  it('parry/a2t with parry/deepwordbug adds successful adversarial texts during trainText', async () => {
    const m = createTransformerClassifier(
      smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 32, numHeads: 2, numLayers: 1, intermediateSize: 64, hiddenDropout: 0, labelNames: ['neg', 'pos'] }),
      { seed: 3 },
    );
    try {
      const set = toyTexts(60, 7);
      const plugin = registry.create('a2t', { recipe: 'deepwordbug', cleanEpochs: 2, fraction: 0.5 }, 'defense') as ReturnType<typeof a2t>;
      const before = tf.memory().numTensors;
      const r = await trainText(m, { encodings: set.texts.map((t) => tok.encode(t, { maxLength: 32 })), labels: set.labels, texts: set.texts }, {
        epochs: 3,
        batchSize: 16,
        learningRate: 5e-3,
        seed: 0,
        padId: tok.padId,
        tokenizer: tok,
        maxLength: 32,
        defenses: [plugin],
        attacks: registryAttackRunner(registry),
      });
      expect(tf.memory().numTensors).toBe(before);
      const history = (plugin as unknown as { history: Array<{ epoch: number; attacked: number; added: unknown[]; summary: { attack: string } }> }).history;
      expect(history.map((h) => h.epoch)).toEqual([3]);
      expect(history[0].attacked).toBe(30);
      expect(history[0].summary.attack).toBe('parry/deepwordbug');
      expect(r.epochs[2].trainExamples).toBe(60 + history[0].added.length);
    } finally {
      m.dispose();
    }
  }, 120_000);
});
