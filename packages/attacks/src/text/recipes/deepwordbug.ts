/**
 * DeepWordBug — Gao, Lanchantin, Soffa & Qi, "Black-box Generation of Adversarial Text Sequences to Evade Deep
 * Learning Classifiers", IEEE S&P Workshops 2018. As TextAttack's `DeepWordBugGao2018`
 * (textattack/attack_recipes/deepwordbug_gao_2018.py, `build` with `use_all_transformations=True`): one random
 * neighbour swap, substitution, deletion and insertion per word (each WordSwap*Character* with `random_one=True`),
 * each word once, NLTK's English stopwords matched as written, Levenshtein distance of the whole text to the original
 * <= 30 (LevenshteinEditDistance(30)), greedy search ranked by replacing each word with `[UNK]` (GreedyWordSwapWIR()'s
 * default `unk`).
 *
 * Options: `editDistance: 'words'` sums the distance over the changed words instead (an upper bound of the whole-text
 * distance, Parry's former rule); `stopwords` / `stopwordsCaseSensitive` pick another list or lower-case matching.
 *
 * Deviations: substituted and inserted letters are lower-case a-z (TextAttack draws from upper- and lower-case ASCII
 * letters). `homoglyphs` (default off) adds visual look-alike substitutions, a Parry addition.
 */
import { defineTextAttack, STOPWORD_LISTS, z } from '@parry/core';
import { maxEditDistance, noRepeat, stopwords } from '../constraints.js';
import { greedyWir } from '../search.js';
import { charEditSwap } from '../transformations.js';

export const deepWordBug = defineTextAttack({
  name: 'parry/deepwordbug',
  summary: 'DeepWordBug (Gao et al. 2018): character edits, edit distance <= 30, unk-ranked greedy; black-box',
  options: z.object({
    maxEditDistance: z.number().int().nonnegative().default(30).describe('character edits allowed'),
    editDistance: z.enum(['text', 'words']).default('text').describe('distance of the whole text (TextAttack) or summed over changed words'),
    wir: z.enum(['unk', 'delete']).default('unk').describe('word ranking: replace by [UNK] (TextAttack) or delete'),
    stopwords: z.enum(STOPWORD_LISTS).default('nltk').describe('stopword list (TextAttack: nltk)'),
    stopwordsCaseSensitive: z.boolean().default(true).describe('match stopwords as written, as TextAttack (false: in lower case)'),
    homoglyphs: z.boolean().default(false).describe('also substitute visually identical characters'),
  }),
  create: (ctx, o) => ({
    name: 'parry/deepwordbug',
    goal: ctx.goal,
    transformation: charEditSwap({ edits: ['swap', 'substitute', 'delete', 'insert', ...(o.homoglyphs ? (['homoglyph'] as const) : [])] }),
    constraints: [
      noRepeat(),
      stopwords({ words: ctx.resources.stopwords(o.stopwords), caseSensitive: o.stopwordsCaseSensitive }),
      maxEditDistance({ max: o.maxEditDistance, scope: o.editDistance }),
    ],
    search: greedyWir({ wir: o.wir }),
    notes: [o.editDistance === 'text' ? 'edit distance of the whole text' : 'edit distance summed over changed words (an upper bound of the whole-text distance)', 'substituted and inserted letters are lower case'],
    options: { ...o },
  }),
});
