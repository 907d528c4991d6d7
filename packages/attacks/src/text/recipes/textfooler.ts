/**
 * TextFooler — Jin, Jin, Zhou & Szolovits, "Is BERT Really Robust? A Strong Baseline for Natural Language Attack on
 * Text Classification and Entailment", AAAI 2020. As TextAttack's `TextFoolerJin2019`: swaps with the 50 nearest
 * embedding neighbours, cosine >= 0.5, stopwords, each word once, greedy search ranked by deletion.
 *
 * Deviations: no part-of-speech constraint (no tagger here) and no Universal Sentence Encoder; a maximum modification
 * rate (default 0.2 of the words; 1 = none) stands in for the sentence-similarity check. Word vectors are the
 * counter-fitted GloVe file the user gives (`--word-vectors`), else the victim's own input embeddings.
 */
import { defineTextAttack, z } from '@parry/core';
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
        stopwords({ words: ctx.resources.stopwords() }),
        embeddingCosine({ vectors, minCosine: o.minCosine }),
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
