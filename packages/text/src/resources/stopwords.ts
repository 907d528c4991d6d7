/** Stopword lists: EDA's (augmentation), and NLTK's and TextFooler's (data files next to this one) for text attacks. */
import { NLTK_ENGLISH_STOPWORDS } from './stopwords-nltk.js';
import { TEXTFOOLER_STOPWORDS } from './stopwords-textfooler.js';

/**
 * English function words that EDA never replaces or uses as a source of insertions: pronouns, determiners, auxiliaries,
 * prepositions, conjunctions, negations and a few frequent adverbs, plus the fragments of split contractions (`n't`,
 * `'s` read as `s`). Same purpose as the reference code's list (NLTK's), written for Parry.
 */
export const EDA_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she her hers ' +
    'herself it its itself they them their theirs themselves one ones what which who whom whose this that these those ' +
    'am is are was were be been being have has had having do does did doing will would shall should can could may might ' +
    'must ought a an the and but if or nor because as until while so than though although unless whether ' +
    'of at by for with about against between into through during before after above below to from up down in out on ' +
    'off over under again further then once here there when where why how all any both each few more most other some ' +
    'such no not only own same too very just now also s t m d ll re ve don doesn didn isn wasn aren weren haven hasn ' +
    "hadn won wouldn couldn shouldn mustn cannot can't won't n't"
  ).split(' '),
);

export { NLTK_ENGLISH_STOPWORDS, TEXTFOOLER_STOPWORDS };

/**
 * The stopword lists text-attack recipes choose from: `nltk` (NLTK's English list, TextAttack's default for PWWS,
 * DeepWordBug and HotFlip), `textfooler` (TextFooler's own 266 words, TextAttack's TextFooler recipe) and `eda`
 * (Parry's EDA list above). All lower case; TextAttack matches them case-sensitively (`The` is not `the`).
 */
export const STOPWORD_SETS: Readonly<Record<'nltk' | 'textfooler' | 'eda', ReadonlySet<string>>> = Object.freeze({
  nltk: new Set(NLTK_ENGLISH_STOPWORDS),
  textfooler: new Set(TEXTFOOLER_STOPWORDS),
  eda: EDA_STOPWORDS,
});
