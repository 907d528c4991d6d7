/**
 * HotFlip — Ebrahimi, Rao, Lowd & Dou, "HotFlip: White-Box Adversarial Examples for Text Classification", ACL 2018.
 * As TextAttack's `HotFlipEbrahimi2017` (textattack/attack_recipes/hotflip_ebrahimi_2017.py, `build`): gradient-guided
 * whole-word token swaps, the single best (word, token) pair of each text (WordSwapGradientBased(top_n=1), which sorts
 * the pairs of all words and stops after `top_n`), each word once, NLTK's English stopwords matched as written, at most
 * 2 words (MaxWordsPerturbed(max_num_words=2)), cosine >= 0.8 between the words (WordEmbeddingDistance(min_cos_sim=0.8),
 * a word without a vector passing), beam search of width 10 (BeamSearch(beam_width=10)) that goes on until success or
 * nothing is left to expand. White-box only.
 *
 * Options: `topNOver: 'word'` tries the `topN` best tokens of every word instead; `stopWhenNoGain` adds Parry's guard
 * that ends the beam when its best score stops improving.
 *
 * Deviations: no part-of-speech constraint; the cosine is taken in the word vectors given (default: the victim's own
 * input embeddings), not in counter-fitted GloVe; only words that are one whole-word token can be flipped, and the
 * gradient is taken at that token (TextAttack indexes the token gradients by word position).
 */
import { defineTextAttack, STOPWORD_LISTS, z } from '@parry/core';
import { embeddingCosine, maxWordsPerturbed, noRepeat, stopwords } from '../constraints.js';
import { ownEmbeddingsNote } from './notes.js';
import { beamSearch } from '../search.js';
import { hotFlip as hotFlipSwap } from '../transformations.js';

export const hotFlip = defineTextAttack({
  name: 'parry/hotflip',
  summary: 'HotFlip (Ebrahimi et al. 2018): gradient token flips, at most 2 words, beam search width 10; white-box',
  needs: ['gradients', 'word-vectors'],
  options: z.object({
    beamWidth: z.number().int().positive().default(10).describe('texts kept per beam step'),
    maxWords: z.number().int().positive().default(2).describe('words changed at most'),
    topN: z.number().int().positive().default(1).describe('token swaps tried per text (or per word with topNOver word)'),
    topNOver: z.enum(['text', 'word']).default('text').describe('topN best swaps of the whole text (TextAttack) or of each word'),
    minCosine: z.number().min(-1).max(1).default(0.8).describe('least cosine between a word and its replacement'),
    includeUnknown: z.boolean().default(true).describe('accept a replacement when either word has no vector (as TextAttack)'),
    stopwords: z.enum(STOPWORD_LISTS).default('nltk').describe('stopword list (TextAttack: nltk)'),
    stopwordsCaseSensitive: z.boolean().default(true).describe('match stopwords as written, as TextAttack (false: in lower case)'),
    stopWhenNoGain: z.boolean().default(false).describe('end the beam when its best score stops improving (TextAttack: no)'),
  }),
  create: async (ctx, o) => {
    const vectors = await ctx.resources.wordVectors();
    return {
      name: 'parry/hotflip',
      goal: ctx.goal,
      transformation: hotFlipSwap({ topN: o.topN, topNOver: o.topNOver }),
      constraints: [
        noRepeat(),
        stopwords({ words: ctx.resources.stopwords(o.stopwords), caseSensitive: o.stopwordsCaseSensitive }),
        maxWordsPerturbed({ max: o.maxWords }),
        embeddingCosine({ vectors, minCosine: o.minCosine, includeUnknown: o.includeUnknown }),
      ],
      search: beamSearch({ width: o.beamWidth, stopWhenNoGain: o.stopWhenNoGain }),
      notes: ['no part-of-speech constraint', `word vectors: ${vectors.source}`, ...ownEmbeddingsNote(vectors.source, o.minCosine)],
      options: { ...o },
    };
  },
});
