/** Stopword list shared by augmentation (EDA) and the text-attack recipes. */
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
