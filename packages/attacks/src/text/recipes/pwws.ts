/**
 * PWWS — Ren, Deng, He & Che, "Generating Natural Language Adversarial Examples through Probability Weighted Word
 * Saliency", ACL 2019. As TextAttack's `PWWSRen2019` (textattack/attack_recipes/pwws_ren_2019.py, `build`: WordSwapWordNet,
 * RepeatModification, StopwordModification(), GreedyWordSwapWIR("weighted-saliency")): WordNet synonym swaps, each word
 * at most once, NLTK's English stopwords matched as written (`The` is not a stopword, `the` is), greedy search in the
 * order of softmax(unk saliency) x the best goal score a swap at that word reaches
 * (textattack/search_methods/greedy_word_swap_wir.py, `weighted-saliency`: `index_scores = softmax_saliency_scores *
 * delta_ps`, where `delta_ps` holds the best swap's score itself).
 *
 * Options where TextAttack and the paper differ: `weighting: 'paper'` multiplies by the score gain over the original
 * text instead (the paper's ΔP*, eq. 8), which ranks words differently. `stopwords` / `stopwordsCaseSensitive` pick
 * another list or lower-case matching.
 *
 * Deviations: synonyms are WordNet 3.1 lemmas (TextAttack: NLTK's WordNet 3.0 with Open Multilingual Wordnet),
 * single lower-case words only (no multi-word lemmas, no proper-noun lemmas), found with WordNet's suffix rules but
 * without its morphological exception lists (so `went` does not reach `go`); a synonym takes the original word's
 * capitalisation (TextAttack inserts the lemma as WordNet writes it). The paper's named-entity swaps are left out, as
 * in TextAttack. `maxModificationRate` (default 1 = off) is a Parry addition.
 */
import { defineTextAttack, STOPWORD_LISTS, z } from '@parry/core';
import { maxModificationRate, noRepeat, stopwords } from '../constraints.js';
import { greedyWir, PWWS_WEIGHTINGS } from '../search.js';
import { wordNetSwap } from '../transformations.js';

export const pwws = defineTextAttack({
  name: 'parry/pwws',
  summary: 'PWWS (Ren et al. 2019): WordNet synonyms, PWWS-weighted greedy search (TextAttack weighting); black-box',
  needs: ['wordnet'],
  options: z.object({
    weighting: z.enum(PWWS_WEIGHTINGS).default('textattack').describe("word importance: softmax(saliency) x best swap score (textattack) or x its gain over the original (paper)"),
    stopwords: z.enum(STOPWORD_LISTS).default('nltk').describe('stopword list (TextAttack: nltk)'),
    stopwordsCaseSensitive: z.boolean().default(true).describe('match stopwords as written, as TextAttack (false: in lower case)'),
    maxModificationRate: z.number().gt(0).max(1).default(1).describe('at most this fraction of the words changed (1 = no cap, as the paper)'),
  }),
  create: async (ctx, o) => ({
    name: 'parry/pwws',
    goal: ctx.goal,
    transformation: wordNetSwap({ synonyms: await ctx.resources.synonyms() }),
    constraints: [
      noRepeat(),
      stopwords({ words: ctx.resources.stopwords(o.stopwords), caseSensitive: o.stopwordsCaseSensitive }),
      ...(o.maxModificationRate < 1 ? [maxModificationRate({ rate: o.maxModificationRate })] : []),
    ],
    search: greedyWir({ wir: 'weighted-saliency', pwwsWeighting: o.weighting }),
    notes: ['WordNet 3.1 single-word lemmas, no morphological exception lists', `word importance weighted as ${o.weighting === 'paper' ? 'the paper (score gain)' : 'TextAttack (best swap score)'}`],
    options: { ...o },
  }),
});
