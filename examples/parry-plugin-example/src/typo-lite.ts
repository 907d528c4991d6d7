/**
 * `example/typo-lite`: a text-attack recipe composed from registered components, plus one component of this package.
 *
 * - `example/vowel-drop` (transformation, defined here with `defineTextComponent`): drop one vowel of a word, never
 *   its first letter (`good` -> `god`, `great` -> `grat`, `gret`). Deterministic: no randomness, no resources.
 * - `example/typo-lite` (recipe, `composeTextAttack`): vowel drops, no stopword changed (`parry/stopwords`), each
 *   word once (`parry/no-repeat`), at most `maxModificationRate` of the words (`parry/max-modification-rate`), greedy
 *   search in word-importance order (`parry/greedy-wir`). Black-box: it needs scores only, no gradients, no WordNet.
 *
 * The recipe names its components; they are resolved from the registry when the attack is built, so this file
 * imports `@parry/core` only (the `parry/*` components come with `@parry/attacks`, which the CLI always registers).
 */
import { type Candidate, composeTextAttack, defineTextComponent, matchCase, z } from '@parry/core';

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** Every word made by dropping one vowel (not the first letter) of `word`, without repeats or the word itself. */
export function vowelDrops(word: string, minLength = 3): string[] {
  const chars = [...word];
  if (chars.length < minLength) return [];
  const out = new Set<string>();
  for (let i = 1; i < chars.length; i++) {
    if (VOWELS.has(chars[i].toLowerCase())) out.add(matchCase([...chars.slice(0, i), ...chars.slice(i + 1)].join(''), word));
  }
  out.delete(word);
  return [...out];
}

export const exampleVowelDrop = defineTextComponent({
  kind: 'transformation',
  name: 'example/vowel-drop',
  summary: 'drop one vowel of a word (never the first letter); deterministic typos',
  options: z.object({
    minLength: z.number().int().min(2).default(3).describe('words shorter than this are left alone'),
  }),
  create: (_ctx, o) => ({
    name: 'vowel-drop',
    candidates(state, indices) {
      const out: Candidate[] = [];
      for (const i of indices) for (const word of vowelDrops(state.words[i], o.minLength)) out.push({ index: i, word });
      return out;
    },
  }),
});

export const exampleTypoLite = composeTextAttack({
  name: 'example/typo-lite',
  summary: 'typo-lite: one dropped vowel per word, stopwords kept, each word once, greedy by word importance; black-box',
  options: z.object({
    maxModificationRate: z.number().gt(0).max(1).default(0.3).describe('at most this fraction of the words changed'),
    minLength: z.number().int().min(2).default(3).describe('words shorter than this are left alone'),
    wir: z.enum(['delete', 'unk']).default('delete').describe('word ranking: delete the word, or replace it by [UNK]'),
  }),
  transformation: (o) => ({ name: 'example/vowel-drop', options: { minLength: o.minLength } }),
  constraints: (o) => ['parry/stopwords', 'parry/no-repeat', { name: 'parry/max-modification-rate', options: { rate: o.maxModificationRate } }],
  search: (o) => ({ name: 'parry/greedy-wir', options: { wir: o.wir } }),
  notes: ['example plugin: vowel drops only'],
});
