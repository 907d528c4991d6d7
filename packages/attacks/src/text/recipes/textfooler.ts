/**
 * TextFooler — Jin, Jin, Zhou & Szolovits, "Is BERT Really Robust? A Strong Baseline for Natural Language Attack on
 * Text Classification and Entailment", AAAI 2020. As TextAttack's `TextFoolerJin2019`
 * (textattack/attack_recipes/textfooler_jin_2019.py, `build`): swaps with the 50 nearest embedding neighbours
 * (WordSwapEmbedding(max_candidates=50)), each word once, TextFooler's own 266 stopwords matched as written
 * (StopwordModification(stopwords=...), the list of TextFooler's criteria.py), cosine >= 0.5 between the word and its
 * replacement (WordEmbeddingDistance(min_cos_sim=0.5); the paper says 0.7, TextAttack and TextFooler's code use 0.5)
 * where a word without a vector passes (`include_unknown_words=True`), greedy search ranked by deletion
 * (GreedyWordSwapWIR(wir_method="delete")).
 *
 * Deviations: no part-of-speech constraint (no tagger here) and no Universal Sentence Encoder (TextAttack: angular
 * similarity >= 0.840845057 over a window of 15 words); a maximum modification rate (default 0.2 of the words; 1 =
 * none, as TextAttack) stands in for the sentence-similarity check. Word vectors are the counter-fitted GloVe file the
 * user gives (`--word-vectors`), else the victim's own input embeddings. Neighbours that are not all letters (word
 * pieces, numbers, hyphenated words) are not tried. Premise/hypothesis inputs are not handled (TextAttack keeps the
 * premise).
 */
import { defineTextAttack, STOPWORD_LISTS, z } from '@parry/core';
import { embeddingCosine, maxModificationRate, noRepeat, stopwords } from '../constraints.js';
import { greedyWir } from '../search.js';
import { embeddingSwap } from '../transformations.js';

export const textFooler = defineTextAttack({
  name: 'parry/textfooler',
  summary: 'TextFooler (Jin et al. 2020): embedding neighbours (cos >= 0.5), deletion-ranked greedy; no USE (max modification rate instead)',
  needs: ['word-vectors'],
  options: z.object({
    minCosine: z.number().min(-1).max(1).default(0.5).describe('least cosine between a word and its replacement'),
    maxCandidates: z.number().int().positive().default(50).describe('nearest neighbours tried per word'),
    includeUnknown: z.boolean().default(true).describe('accept a replacement when either word has no vector (as TextAttack)'),
    stopwords: z.enum(STOPWORD_LISTS).default('textfooler').describe("stopword list (TextAttack: TextFooler's own)"),
    stopwordsCaseSensitive: z.boolean().default(true).describe('match stopwords as written, as TextAttack (false: in lower case)'),
    maxModificationRate: z.number().gt(0).max(1).default(0.2).describe('at most this fraction of the words changed (stands in for USE; 1 = off)'),
  }),
  create: async (ctx, o) => {
    const vectors = await ctx.resources.wordVectors();
    const rate = o.maxModificationRate;
    return {
      name: 'parry/textfooler',
      goal: ctx.goal,
      transformation: embeddingSwap({ vectors, maxCandidates: o.maxCandidates }),
      constraints: [
        noRepeat(),
        stopwords({ words: ctx.resources.stopwords(o.stopwords), caseSensitive: o.stopwordsCaseSensitive }),
        embeddingCosine({ vectors, minCosine: o.minCosine, includeUnknown: o.includeUnknown }),
        ...(rate < 1 ? [maxModificationRate({ rate })] : []),
      ],
      search: greedyWir({ wir: 'delete' }),
      notes: [
        `word vectors: ${vectors.source}`,
        'no part-of-speech constraint',
        `no Universal Sentence Encoder constraint; ${rate < 1 ? `max modification rate ${rate} stands in` : 'nothing stands in'}`,
      ],
      options: { ...o },
    };
  },
});
