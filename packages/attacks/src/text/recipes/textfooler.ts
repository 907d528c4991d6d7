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
 * Same part of speech in context (PartOfSpeech(allow_verb_noun_swap=True): a window of 4 words before and 3 after,
 * NOUN and VERB interchangeable) and sentence similarity over a window of 15 words around the change, compared with the
 * current text, angular similarity >= 0.840845057, texts shorter than the window passing (UniversalSentenceEncoder(
 * threshold=0.840845057, metric="angular", compare_against_original=False, window_size=15,
 * skip_text_shorter_than_window=True)).
 *
 * Sentence encoder: the one the user names (`--sentence-encoder <folder>`, the `sentence-encoder` resource: a Parry or
 * Hugging Face encoder folder, mean-pooled, or an ONNX sentence-embedding folder such as a sentence-transformers export
 * run through transformers.js), not TextAttack's Universal Sentence Encoder (TF Hub's USE v4; the tfjs package
 * `@tensorflow-models/universal-sentence-encoder` is USE *lite*, a different model fetched from the web, not wired here).
 * TextAttack's threshold 0.840845057 (angular, window 15) was calibrated for USE; Parry keeps it by default, where it
 * means an angle of at most 0.5 rad (cosine >= 0.878) between the two windows' embeddings IN THE ENCODER GIVEN. Encoders
 * differ in how spread out their cosines are (an anisotropic encoder, such as a classifier's own mean-pooled hidden
 * states, gives even unrelated texts high cosines), so the same number is a stricter or looser bar than with USE: calibrate
 * `minSimilarity` for your encoder (e.g. the similarity of paraphrase pairs) when you compare with TextAttack's numbers.
 * Without a sentence encoder the window's embedding is the mean of its words' vectors in the same word vectors as the
 * swaps, so the threshold measures word-vector overlap, not sentence similarity; the notes say which was used.
 *
 * Deviations: the part-of-speech tagger is wink-nlp's English lite model (Universal POS tags), not NLTK's perceptron
 * tagger; without a tagger in the resources the constraint is left out and the notes say so. The sentence encoder is
 * not USE (above). A maximum modification rate (`maxModificationRate`) is off by default; it stands in (default 0.2 of the words) only
 * when the similarity check is turned off (`sentenceSimilarity: false`). Word vectors are the counter-fitted GloVe file
 * the user gives (`--word-vectors`), else the victim's own input embeddings. Neighbours that are not all letters (word
 * pieces, numbers, hyphenated words) are not tried. Premise/hypothesis inputs are not handled (TextAttack keeps the
 * premise).
 */
import { defineTextAttack, STOPWORD_LISTS, z } from '@parry/core';
import {
  embeddingCosine,
  maxModificationRate,
  noRepeat,
  optionalSentenceEncoder,
  partOfSpeech,
  sentenceSimilarity,
  stopwords,
  TEXTFOOLER_MIN_SIMILARITY,
} from '../constraints.js';
import { ownEmbeddingsNote } from './notes.js';
import { greedyWir } from '../search.js';
import { embeddingSwap } from '../transformations.js';

export const textFooler = defineTextAttack({
  name: 'parry/textfooler',
  summary: 'TextFooler (Jin et al. 2020): embedding neighbours (cos >= 0.5), same POS, window similarity (the sentence encoder given, else mean word vectors; not USE), deletion-ranked greedy',
  needs: ['word-vectors', 'sentence-encoder'],
  options: z.object({
    minCosine: z.number().min(-1).max(1).default(0.5).describe('least cosine between a word and its replacement'),
    maxCandidates: z.number().int().positive().default(50).describe('nearest neighbours tried per word'),
    includeUnknown: z.boolean().default(true).describe('accept a replacement when either word has no vector (as TextAttack)'),
    stopwords: z.enum(STOPWORD_LISTS).default('textfooler').describe("stopword list (TextAttack: TextFooler's own)"),
    stopwordsCaseSensitive: z.boolean().default(true).describe('match stopwords as written, as TextAttack (false: in lower case)'),
    partOfSpeech: z.boolean().default(true).describe('replacements keep the part of speech (when the resources have a tagger)'),
    sentenceSimilarity: z.boolean().default(true).describe('window similarity check (the sentence encoder given, else mean of word vectors; not USE)'),
    minSimilarity: z.number().min(-1).max(1).default(TEXTFOOLER_MIN_SIMILARITY).describe("least angular similarity of the 15-word windows (TextAttack's, calibrated for USE)"),
    maxModificationRate: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe('at most this fraction of the words changed (default: off; 0.2 when sentenceSimilarity is false; 1 = off)'),
  }),
  create: async (ctx, o) => {
    const vectors = await ctx.resources.wordVectors();
    const rate = o.maxModificationRate ?? (o.sentenceSimilarity ? 1 : 0.2);
    const tagger = o.partOfSpeech && ctx.resources.posTagger ? await ctx.resources.posTagger() : undefined;
    const encoder = o.sentenceSimilarity ? await optionalSentenceEncoder(ctx.resources) : undefined;
    const similarity = { minSimilarity: o.minSimilarity, window: 15, metric: 'angular', skipShortTexts: true } as const;
    // the recipe's notes say which encoder the similarity uses, so the constraint's own note is not repeated
    const { note: fallbackNote, ...similarityCheck } = sentenceSimilarity(encoder ? { encoder, ...similarity } : { vectors, ...similarity });
    return {
      name: 'parry/textfooler',
      goal: ctx.goal,
      transformation: embeddingSwap({ vectors, maxCandidates: o.maxCandidates }),
      constraints: [
        noRepeat(),
        stopwords({ words: ctx.resources.stopwords(o.stopwords), caseSensitive: o.stopwordsCaseSensitive }),
        embeddingCosine({ vectors, minCosine: o.minCosine, includeUnknown: o.includeUnknown }),
        ...(tagger ? [partOfSpeech({ tagger, allowVerbNounSwap: true })] : []),
        ...(o.sentenceSimilarity ? [similarityCheck] : []),
        ...(rate < 1 ? [maxModificationRate({ rate })] : []),
      ],
      search: greedyWir({ wir: 'delete' }),
      notes: [
        `word vectors: ${vectors.source}`,
        ...ownEmbeddingsNote(vectors.source, o.minCosine),
        tagger
          ? 'part of speech: the resources\' tagger (Parry: wink-nlp English lite, not NLTK)'
          : o.partOfSpeech
            ? 'no part-of-speech constraint: these resources have no part-of-speech tagger'
            : 'no part-of-speech constraint (partOfSpeech: false)',
        !o.sentenceSimilarity
          ? 'no sentence-similarity constraint (sentenceSimilarity: false)'
          : encoder
            ? `sentence similarity: ${encoder.name} over 15-word windows, angular >= ${o.minSimilarity} (TextAttack's threshold, calibrated for the Universal Sentence Encoder, not this encoder)`
            : fallbackNote!,
        ...(rate < 1 ? [`max modification rate ${rate}${o.sentenceSimilarity ? '' : ' stands in for the sentence-similarity check'}`] : []),
      ],
      options: { ...o },
    };
  },
});
