/**
 * BERT-Attack — Li, Ma, Guo, Xue & Qiu, "BERT-ATTACK: Adversarial Attack Against BERT Using BERT", EMNLP 2020. As
 * TextAttack 0.3.x's `BERTAttackLi2020` (textattack/attack_recipes/bert_attack_li_2020.py, `build`): the text is read
 * unmasked by the masked language model and each word's replacements are its K = 48 most likely words at the word's
 * own position — for a word split into several sub-words, combinations of each piece's top predictions ranked by
 * perplexity (WordSwapMaskedLM(method="bert-attack", max_candidates=48)); each word at most once
 * (RepeatModification), NLTK's English stopwords left alone, matched as written (StopwordModification()), at most 40%
 * of the words changed, ceil(0.4 x words) (MaxWordsPerturbed(max_percent=0.4)), sentence similarity of the whole text
 * with the original, cosine >= 0.2 (UniversalSentenceEncoder(threshold=0.2, metric="cosine",
 * compare_against_original=True, window_size=None)); greedy search in the order of the score each word's replacement by
 * `[UNK]` gives (GreedyWordSwapWIR(wir_method="unk")).
 *
 * Deviations from TextAttack and the paper:
 * - K = 48 as the paper and TextAttack up to 0.3.10; TextAttack 0.3.11 lowered it to 8 because enumerating 48^n
 *   sub-word combinations made its attack take hours (`maxCandidates: 8` gives that). Combining the pieces is the
 *   masked language model's job here (`predictBatch` in `unmasked` mode), ranked by perplexity as the paper says;
 *   TextAttack 0.3.x computes the perplexities but discards its sort, so it keeps the first K combinations in
 *   enumeration order.
 * - Sentence similarity is the `parry/sentence-similarity` constraint with the encoder the user names
 *   (`--sentence-encoder`), else mean word vectors (the notes say which), NOT the Universal Sentence Encoder; 0.2 is TextAttack's fixed choice for USE (the authors
 *   filtered finished examples with per-dataset thresholds, 0.4-0.7 on IMDB, 0-0.2 on MNLI). It means something else
 *   for another encoder.
 * - Word importance: the paper masks the word with `[MASK]` and reads the gold logit; TextAttack (and Parry) put
 *   `[UNK]` in its place (`unkToken`) and read the goal score (1 - p(gold)). `wir: 'delete'` ranks by deletion.
 * - Candidates are whole words with at least one letter that Parry reads as one word (TextAttack also lets punctuation
 *   through), and take the original word's capitalisation. Parry's masked language model leaves out sub-word pieces
 *   and special tokens before taking its top K; TextAttack takes the top K tokens first and then drops the pieces,
 *   so it tries fewer words per position (both then drop the word itself).
 * - The paper's filter of antonyms with synonym dictionaries (sentiment tasks) is not applied, as in TextAttack.
 * - Among several replacements that succeed at the last step, TextAttack keeps the one most similar to the original;
 *   Parry's greedy search keeps the one with the highest goal score.
 * - The masked language model is the folder the user gives (`--masked-lm`); TextAttack's default is bert-base-uncased.
 */
import { defineTextAttack, STOPWORD_LISTS, z } from '@parry/core';
import { maxModificationRate, noRepeat, stopwords } from '../constraints.js';
import { maskedLmSwap } from '../masked-lm.js';
import { greedyWir } from '../search.js';
import { sentenceSimilarityConstraint } from './similarity.js';

export const bertAttack = defineTextAttack({
  name: 'parry/bert-attack',
  summary: 'BERT-Attack (Li et al. 2020): masked-LM replacements read from the unmasked text (K=48), at most 40% of words, [UNK]-ranked greedy',
  needs: ['masked-lm', 'sentence-encoder'],
  options: z.object({
    maxCandidates: z.number().int().positive().default(48).describe('top-k masked-LM words per word (paper, TextAttack <= 0.3.10: 48; 0.3.11: 8)'),
    minConfidence: z.number().min(0).max(1).default(0).describe('drop masked-LM words scored below this (TextAttack bert-attack: none)'),
    maxModificationRate: z.number().gt(0).max(1).default(0.4).describe('at most this fraction of the words changed (TextAttack: 0.4)'),
    stopwords: z.enum(STOPWORD_LISTS).default('nltk').describe('stopword list (TextAttack: nltk)'),
    stopwordsCaseSensitive: z.boolean().default(true).describe('match stopwords as written, as TextAttack (false: in lower case)'),
    sentenceSimilarity: z.boolean().default(true).describe('whole-text similarity check (parry/sentence-similarity)'),
    minSimilarity: z.number().min(-1).max(1).default(0.2).describe('least cosine with the original text (TextAttack: 0.2, set for USE)'),
    wir: z.enum(['unk', 'delete']).default('unk').describe('word ranking: replace the word by unkToken (TextAttack) or delete it'),
    unkToken: z.string().min(1).default('[UNK]').describe('what replaces a word to rank it (TextAttack: [UNK]; the paper: [MASK])'),
  }),
  create: async (ctx, o) => {
    const model = await ctx.resources.maskedLm();
    const similarity = o.sentenceSimilarity ? await sentenceSimilarityConstraint(ctx, { minSimilarity: o.minSimilarity, skipShortTexts: false }) : undefined;
    return {
      name: 'parry/bert-attack',
      goal: ctx.goal,
      transformation: maskedLmSwap({ model, method: 'bert-attack', maxCandidates: o.maxCandidates, minConfidence: o.minConfidence }),
      constraints: [
        noRepeat(),
        stopwords({ words: ctx.resources.stopwords(o.stopwords), caseSensitive: o.stopwordsCaseSensitive }),
        ...(o.maxModificationRate < 1 ? [maxModificationRate({ rate: o.maxModificationRate })] : []),
        ...(similarity ? [similarity.constraint] : []),
      ],
      search: greedyWir({ wir: o.wir, unkToken: o.unkToken }),
      notes: [
        `masked language model: ${model.name}`,
        o.maxModificationRate < 1 ? `at most ${o.maxModificationRate * 100}% of the words changed` : 'no cap on the words changed',
        similarity ? similarity.note : 'no sentence-similarity constraint (sentenceSimilarity: false)',
      ],
      options: { ...o },
    };
  },
});
