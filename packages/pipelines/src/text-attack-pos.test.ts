/** textResources' part-of-speech tagger and TextFooler built through it with a counter-fitted-format file (issue 16). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { registerBuiltinAttacks } from '@parry/attacks';
import { buildTextAttack, createRegistry } from '@parry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { textResources } from './text-attack.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-pos-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const blackBox = { name: 'bb', labelNames: ['neg', 'pos'], outputKind: 'single-label' as const, queries: 0, predict: async (t: readonly string[]) => new Float32Array(t.length * 2).fill(0.5) };

describe('textResources: part-of-speech tagger', () => {
  it('gives one wink-nlp tagger, loaded on first use', async () => {
    const r = textResources({ victim: blackBox });
    const tagger = await r.posTagger!();
    expect(await r.posTagger!()).toBe(tagger);
    expect(tagger.tag(['the', 'film', 'was', 'good'])).toEqual(['DET', 'NOUN', 'AUX', 'ADJ']);
  });

  it('TextFooler gets the part-of-speech and sentence-similarity constraints over the word vectors given', async () => {
    const file = path.join(dir, 'counter-fitted.txt');
    const row = (w: string, i: number) => `${w} ${Array.from({ length: 300 }, (_, d) => (d === i ? 1 : 0.01 * Math.cos(d)).toFixed(5)).join(' ')}`;
    fs.writeFileSync(file, ['good', 'great', 'film', 'movie'].map((w, i) => row(w, i >> 1)).join('\n'));
    const registry = registerBuiltinAttacks(createRegistry());
    const { attack } = await buildTextAttack(registry, 'textfooler', {}, { victim: blackBox, resources: textResources({ victim: blackBox, wordVectors: file }) });
    expect(attack.constraints.map((c) => c.name)).toEqual(['no-repeat', 'stopwords', 'embedding-cosine', 'part-of-speech', 'sentence-similarity']);
    expect(attack.notes?.join('\n')).toContain(`mean of word vectors (${file})`);
  });
});
