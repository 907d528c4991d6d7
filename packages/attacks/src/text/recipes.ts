/**
 * Attack recipes after TextAttack's: pwws, textfooler, deepwordbug and hotflip, composed from the components.
 * Deviations from the TextAttack definitions are stated per recipe and repeated in the attack's `notes`.
 */
import { UsageError, z } from '@parry/core';
import { EDA_STOPWORDS } from '@parry/text';
import type { TextAttack } from './attack.js';
import { defineTextComponent } from './components.js';
import { embeddingCosine, maxEditDistance, maxModificationRate, maxWordsPerturbed, noRepeat, stopwords } from './constraints.js';
import type { WordVectors } from '@parry/text';
import { type GoalFunction, untargetedGoal } from './goals.js';
import { beamSearch, greedyWir } from './search.js';
import { charEditSwap, embeddingSwap, hotFlip, wordNetSwap } from './transformations.js';

export interface RecipeOptions {
  /** Default: untargeted (single-label victims). */
  goal?: GoalFunction;
  /** Default: the EDA/NLTK-style English stopword list of `@parry/defenses`. */
  stopwords?: ReadonlySet<string>;
}

/**
 * PWWS (Ren et al. 2019): WordNet synonym swaps, no stopwords, each word at most once, greedy search in the order of
 * softmax(unk saliency) x best swap gain. As TextAttack's recipe.
 */
export function pwwsRecipe(options: RecipeOptions & { synonyms: (word: string) => string[] }): TextAttack {
  return {
    name: 'pwws',
    goal: options.goal ?? untargetedGoal(),
    transformation: wordNetSwap({ synonyms: options.synonyms }),
    constraints: [noRepeat(), stopwords({ words: options.stopwords ?? EDA_STOPWORDS })],
    search: greedyWir({ wir: 'weighted-saliency' }),
    notes: [],
  };
}

/**
 * TextFooler (Jin et al. 2020): swaps with the 50 nearest embedding neighbours, cosine >= 0.5, stopwords, each word
 * once, greedy search ranked by deletion. No part-of-speech constraint (no tagger here), and no Universal Sentence
 * Encoder: a maximum modification rate (default 0.2 of the words; 1 = none) stands in for it.
 */
export function textFoolerRecipe(options: RecipeOptions & { vectors: WordVectors; minCosine?: number; maxCandidates?: number; maxModificationRate?: number }): TextAttack {
  const minCosine = options.minCosine ?? 0.5;
  const rate = options.maxModificationRate ?? 0.2;
  return {
    name: 'textfooler',
    goal: options.goal ?? untargetedGoal(),
    transformation: embeddingSwap({ vectors: options.vectors, maxCandidates: options.maxCandidates ?? 50 }),
    constraints: [
      noRepeat(),
      stopwords({ words: options.stopwords ?? EDA_STOPWORDS }),
      embeddingCosine({ vectors: options.vectors, minCosine }),
      ...(rate < 1 ? [maxModificationRate({ rate })] : []),
    ],
    search: greedyWir({ wir: 'delete' }),
    notes: [
      `word vectors: ${options.vectors.source}`,
      'no part-of-speech constraint',
      `no Universal Sentence Encoder constraint; ${rate < 1 ? `max modification rate ${rate} stands in` : 'nothing stands in'}`,
    ],
    options: { minCosine, maxCandidates: options.maxCandidates ?? 50, maxModificationRate: rate },
  };
}

/**
 * DeepWordBug (Gao et al. 2018): one random neighbour swap, substitution, deletion and insertion per word, stopwords
 * and each word once, summed edit distance <= 30; greedy search ranked by replacing each word with `[UNK]` (TextAttack's
 * default for this recipe; `wir: 'delete'` ranks by deletion).
 */
export function deepWordBugRecipe(options: RecipeOptions & { maxEditDistance?: number; wir?: 'unk' | 'delete'; homoglyphs?: boolean } = {}): TextAttack {
  const max = options.maxEditDistance ?? 30;
  return {
    name: 'deepwordbug',
    goal: options.goal ?? untargetedGoal(),
    transformation: charEditSwap({ edits: ['swap', 'substitute', 'delete', 'insert', ...(options.homoglyphs ? (['homoglyph'] as const) : [])] }),
    constraints: [noRepeat(), stopwords({ words: options.stopwords ?? EDA_STOPWORDS }), maxEditDistance({ max })],
    search: greedyWir({ wir: options.wir ?? 'unk' }),
    notes: ['edit distance summed over changed words (an upper bound of the whole-text distance)'],
    options: { maxEditDistance: max, wir: options.wir ?? 'unk', homoglyphs: options.homoglyphs ?? false },
  };
}

/**
 * HotFlip (Ebrahimi et al. 2018) as TextAttack's recipe: gradient-guided whole-word token swaps (top 1 per word),
 * stopwords, each word once, at most 2 words, cosine >= 0.8 in `vectors` (the CLI passes the model's own input
 * embeddings), beam search of width 10. White-box only. No part-of-speech constraint.
 */
export function hotFlipRecipe(options: RecipeOptions & { vectors?: WordVectors; beamWidth?: number; maxWords?: number; topN?: number } = {}): TextAttack {
  const width = options.beamWidth ?? 10;
  const maxWords = options.maxWords ?? 2;
  return {
    name: 'hotflip',
    goal: options.goal ?? untargetedGoal(),
    transformation: hotFlip({ topN: options.topN ?? 1 }),
    constraints: [
      noRepeat(),
      stopwords({ words: options.stopwords ?? EDA_STOPWORDS }),
      maxWordsPerturbed({ max: maxWords }),
      embeddingCosine({ vectors: options.vectors, minCosine: 0.8 }),
    ],
    search: beamSearch({ width }),
    notes: ['no part-of-speech constraint', ...(options.vectors ? [`word vectors: ${options.vectors.source}`] : [])],
    options: { beamWidth: width, maxWords, topN: options.topN ?? 1 },
  };
}

/** Recipe names `parry eval --attack` accepts for text models. */
export const TEXT_RECIPES = ['pwws', 'textfooler', 'deepwordbug', 'hotflip'] as const;
export type TextRecipeName = (typeof TEXT_RECIPES)[number];

const fn = z.custom<(w: string) => string[]>((v) => typeof v === 'function', 'must be a function word -> synonyms');
const vectors = z.custom<WordVectors>((v) => !!v && typeof (v as WordVectors).neighbours === 'function', 'must be WordVectors');
const goal = z.custom<GoalFunction>((v) => !!v && typeof (v as GoalFunction).bind === 'function', 'must be a goal function').optional();

/** Recipes as components. */
export const recipeComponents = [
  defineTextComponent({
    kind: 'recipe',
    name: 'parry/pwws',
    summary: 'PWWS (Ren et al. 2019): WordNet synonyms, PWWS-weighted greedy search; black-box',
    options: z.object({ synonyms: fn, goal }),
    create: (o) => pwwsRecipe(o),
  }),
  defineTextComponent({
    kind: 'recipe',
    name: 'parry/textfooler',
    summary: 'TextFooler (Jin et al. 2020): embedding neighbours (cos >= 0.5), deletion-ranked greedy; no USE (max modification rate instead)',
    options: z.object({
      vectors,
      goal,
      minCosine: z.number().min(-1).max(1).default(0.5),
      maxCandidates: z.number().int().positive().default(50),
      maxModificationRate: z.number().gt(0).max(1).default(0.2),
    }),
    create: (o) => textFoolerRecipe(o),
  }),
  defineTextComponent({
    kind: 'recipe',
    name: 'parry/deepwordbug',
    summary: 'DeepWordBug (Gao et al. 2018): character edits, edit distance <= 30, unk-ranked greedy; black-box',
    options: z.object({ goal, maxEditDistance: z.number().int().nonnegative().default(30), wir: z.enum(['unk', 'delete']).default('unk'), homoglyphs: z.boolean().default(false) }),
    create: (o) => deepWordBugRecipe(o),
  }),
  defineTextComponent({
    kind: 'recipe',
    name: 'parry/hotflip',
    summary: 'HotFlip (Ebrahimi et al. 2018): gradient token flips, at most 2 words, beam search width 10; white-box',
    options: z.object({ vectors: vectors.optional(), goal, beamWidth: z.number().int().positive().default(10), maxWords: z.number().int().positive().default(2), topN: z.number().int().positive().default(1) }),
    create: (o) => hotFlipRecipe(o),
  }),
];

/** Build a recipe by name; `synonyms` is required for pwws and `vectors` for textfooler. */
export function textRecipe(name: string, options: { synonyms?: (w: string) => string[]; vectors?: WordVectors; goal?: GoalFunction } = {}): TextAttack {
  const short = name.replace(/^parry\//, '');
  if (short === 'pwws') {
    if (!options.synonyms) throw new UsageError('pwws needs a synonym source (WordNet); pass synonyms');
    return pwwsRecipe({ synonyms: options.synonyms, goal: options.goal });
  }
  if (short === 'textfooler') {
    if (!options.vectors) throw new UsageError('textfooler needs word vectors: pass --word-vectors <GloVe .txt> or use a Parry model (its embeddings)');
    return textFoolerRecipe({ vectors: options.vectors, goal: options.goal });
  }
  if (short === 'deepwordbug') return deepWordBugRecipe({ goal: options.goal });
  if (short === 'hotflip') return hotFlipRecipe({ vectors: options.vectors, goal: options.goal });
  throw new UsageError(`unknown text attack "${name}"; known: ${TEXT_RECIPES.join(', ')}`);
}
