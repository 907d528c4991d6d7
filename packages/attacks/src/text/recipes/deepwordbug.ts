/**
 * DeepWordBug — Gao, Lanchantin, Soffa & Qi, "Black-box Generation of Adversarial Text Sequences to Evade Deep
 * Learning Classifiers", IEEE S&P Workshops 2018. As TextAttack's `DeepWordBugGao2018`: one random neighbour swap,
 * substitution, deletion and insertion per word, stopwords and each word once, summed edit distance <= 30, greedy
 * search ranked by replacing each word with `[UNK]`.
 *
 * Deviations: the edit distance is summed over changed words (an upper bound of the whole-text distance).
 * `homoglyphs` (default off) adds visual look-alike substitutions, a Parry addition.
 */
import { defineTextAttack, z } from '@parry/core';
import { maxEditDistance, noRepeat, stopwords } from '../constraints.js';
import { greedyWir } from '../search.js';
import { charEditSwap } from '../transformations.js';

export const deepWordBug = defineTextAttack({
  name: 'parry/deepwordbug',
  summary: 'DeepWordBug (Gao et al. 2018): character edits, edit distance <= 30, unk-ranked greedy; black-box',
  options: z.object({
    maxEditDistance: z.number().int().nonnegative().default(30).describe('summed character edits allowed'),
    wir: z.enum(['unk', 'delete']).default('unk').describe('word ranking: replace by [UNK] (TextAttack) or delete'),
    homoglyphs: z.boolean().default(false).describe('also substitute visually identical characters'),
  }),
  create: (ctx, o) => ({
    name: 'parry/deepwordbug',
    goal: ctx.goal,
    transformation: charEditSwap({ edits: ['swap', 'substitute', 'delete', 'insert', ...(o.homoglyphs ? (['homoglyph'] as const) : [])] }),
    constraints: [noRepeat(), stopwords({ words: ctx.resources.stopwords() }), maxEditDistance({ max: o.maxEditDistance })],
    search: greedyWir({ wir: o.wir }),
    notes: ['edit distance summed over changed words (an upper bound of the whole-text distance)'],
    options: { ...o },
  }),
});
