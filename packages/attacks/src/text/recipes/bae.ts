/**
 * BAE — Garg & Ramakrishnan, "BAE: BERT-based Adversarial Examples for Text Classification", EMNLP 2020. As
 * TextAttack 0.3.x's `BAEGarg2019` (textattack/attack_recipes/bae_garg_2019.py, `build`), which is the paper's BAE-R:
 * each word in turn is masked and replaced by one of the masked language model's 50 most likely whole words
 * (WordSwapMaskedLM(method="bae", max_candidates=50, min_confidence=0.0)), each word at most once
 * (RepeatModification), NLTK's English stopwords left alone, matched as written (StopwordModification()), the
 * replacement keeping the word's part of speech in a window of 4 words before and 3 after, NOUN and VERB
 * interchangeable (PartOfSpeech(allow_verb_noun_swap=True)), and sentence similarity over a 15-word window around the
 * change, cosine >= 0.936338023, texts shorter than the window passing (UniversalSentenceEncoder(threshold=0.936338023,
 * metric="cosine", compare_against_original=True, window_size=15, skip_text_shorter_than_window=True)); greedy search
 * in the order of the score each word's deletion gives (GreedyWordSwapWIR(wir_method="delete")).
 *
 * Options: `operations: 'insert'` is the paper's BAE-I (a mask inserted left or right of the word), `'replace-insert'`
 * BAE-R/I (either); the part-of-speech check applies to replacements only, as the paper describes it for the R
 * operation. `wir: 'unk'`, `minConfidence`, and the stopword list / matching can be changed.
 *
 * Deviations from TextAttack and the paper:
 * - Sentence similarity is the `parry/sentence-similarity` constraint with the encoder the user names
 *   (`--sentence-encoder`), else mean word vectors (the notes say which), NOT the Universal Sentence Encoder.
 *   0.936338023 is TextAttack's conversion of the paper's USE cosine 0.8 (1 - 0.2/π, because the authors' code
 *   descends from TextFooler's angular similarity); it was set for USE and is a different bar for another encoder.
 *   Windows are compared with the original text, as TextAttack; the authors compared with the text just before each
 *   change (their correspondence, quoted in TextAttack).
 * - Among several replacements that succeed at the last step, the paper and TextAttack keep the one most similar to
 *   the original (USE score); Parry's greedy search keeps the one with the highest goal score.
 * - Candidates are whole words: Parry's masked language model leaves out sub-word pieces, special tokens and
 *   non-letter tokens before taking its top 50, and the transformation keeps words with a letter that Parry reads as
 *   one word. TextAttack strips `##` from sub-word pieces and keeps them; the authors kept only whole words (a GloVe
 *   vocabulary check).
 * - A replacement takes the original word's capitalisation (TextAttack inserts the prediction as the model writes it).
 * - BAE-I: an inserted word shares the slot of the word it sits next to, so that word counts as modified and is not
 *   replaced afterwards (TextAttack marks only the new word); the similarity window then spans one word more. BAE-R+I
 *   (replace, then insert) is not offered.
 * - The part-of-speech tagger is wink-nlp's English lite model (Universal tags), not NLTK's perceptron tagger; without a
 *   tagger in the resources the check is left out and the notes say so.
 * - The masked language model is the folder the user gives (`--masked-lm`); TextAttack's default is bert-base-uncased.
 */
import { defineTextAttack, STOPWORD_LISTS, z } from '@parry/core';
import { noRepeat, partOfSpeech, stopwords } from '../constraints.js';
import { BAE_OPERATIONS, maskedLmSwap, swapsOnly } from '../masked-lm.js';
import { greedyWir } from '../search.js';
import { sentenceSimilarityConstraint } from './similarity.js';

/** TextAttack's BAE threshold: the paper's USE cosine 0.8 as 1 - (1 - 0.8)/π. */
export const BAE_MIN_SIMILARITY = 0.936338023;

const LABELS = { replace: 'BAE-R', insert: 'BAE-I', 'replace-insert': 'BAE-R/I' } as const;

export const bae = defineTextAttack({
  name: 'parry/bae',
  summary: 'BAE (Garg & Ramakrishnan 2020): masked-LM replacements (BAE-R; BAE-I, BAE-R/I as options), same POS, window similarity, deletion-ranked greedy',
  needs: ['masked-lm', 'sentence-encoder'],
  options: z.object({
    operations: z.enum(BAE_OPERATIONS).default('replace').describe('replace (BAE-R, as TextAttack), insert (BAE-I) or replace-insert (BAE-R/I)'),
    maxCandidates: z.number().int().positive().default(50).describe('top-k masked-LM words per position (K = 50)'),
    minConfidence: z.number().min(0).max(1).default(0).describe('drop masked-LM words below this probability (TextAttack BAE: 0)'),
    stopwords: z.enum(STOPWORD_LISTS).default('nltk').describe('stopword list (TextAttack: nltk)'),
    stopwordsCaseSensitive: z.boolean().default(true).describe('match stopwords as written, as TextAttack (false: in lower case)'),
    partOfSpeech: z.boolean().default(true).describe('replacements keep the part of speech (when the resources have a tagger)'),
    sentenceSimilarity: z.boolean().default(true).describe('window similarity check (parry/sentence-similarity)'),
    minSimilarity: z.number().min(-1).max(1).default(BAE_MIN_SIMILARITY).describe('least cosine of the windows (TextAttack: 0.936338023, calibrated for USE)'),
    window: z.number().int().positive().default(15).describe('words in the similarity window around the change'),
    wir: z.enum(['delete', 'unk']).default('delete').describe('word ranking: delete the word (as the paper and TextAttack) or replace it by [UNK]'),
  }),
  create: async (ctx, o) => {
    const model = await ctx.resources.maskedLm();
    const tagger = o.partOfSpeech && ctx.resources.posTagger ? await ctx.resources.posTagger() : undefined;
    const similarity = o.sentenceSimilarity
      ? await sentenceSimilarityConstraint(ctx, { minSimilarity: o.minSimilarity, window: o.window, skipShortTexts: true })
      : undefined;
    return {
      name: 'parry/bae',
      goal: ctx.goal,
      transformation: maskedLmSwap({ model, method: 'bae', operations: o.operations, maxCandidates: o.maxCandidates, minConfidence: o.minConfidence }),
      constraints: [
        noRepeat(),
        stopwords({ words: ctx.resources.stopwords(o.stopwords), caseSensitive: o.stopwordsCaseSensitive }),
        ...(tagger ? [swapsOnly(partOfSpeech({ tagger, allowVerbNounSwap: true }))] : []),
        ...(similarity ? [similarity.constraint] : []),
      ],
      search: greedyWir({ wir: o.wir }),
      notes: [
        `${LABELS[o.operations]}; masked language model: ${model.name}`,
        tagger
          ? "part of speech (replacements only): the resources' tagger (Parry: wink-nlp English lite, not NLTK)"
          : o.partOfSpeech
            ? 'no part-of-speech constraint: these resources have no part-of-speech tagger'
            : 'no part-of-speech constraint (partOfSpeech: false)',
        similarity ? similarity.note : 'no sentence-similarity constraint (sentenceSimilarity: false)',
      ],
      options: { ...o },
    };
  },
});
