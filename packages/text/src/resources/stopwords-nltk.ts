/**
 * NLTK's English stopword list, as data (179 words, lower case, in the file's order).
 *
 * Source: the NLTK data "stopwords" corpus, file `english` of `packages/corpora/stopwords.zip` in
 * https://github.com/nltk/nltk_data at commit 5db857e6f7df11eabb5e5665836db9ec8df07e28 (2023-02-02); this is the
 * list `nltk.corpus.stopwords.words('english')` returns, which TextAttack's `StopwordModification` uses by default
 * (textattack/constraints/pre_transformation/stopword_modification.py). Newer NLTK data releases may list more words.
 * Licence: neither the corpus's entry in nltk_data's `index.xml` nor its README names one (the data repository has no
 * LICENSE file); the README says the lists were obtained from PostgreSQL's Snowball stopword files
 * (http://anoncvs.postgresql.org/cvsweb.cgi/pgsql/src/backend/snowball/stopwords/) and that the English list was
 * augmented (https://github.com/nltk/nltk_data/issues/22). Included here as a list of common English function words.
 */
export const NLTK_ENGLISH_STOPWORDS: readonly string[] = Object.freeze(
  `
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves
he him his himself she she's her hers herself it it's its itself they them their theirs themselves
what which who whom this that that'll these those am is are was were be been being have has had
having do does did doing a an the and but if or because as until while of at by for with about
against between into through during before after above below to from up down in out on off over
under again further then once here there when where why how all any both each few more most other
some such no nor not only own same so than too very s t can will just don don't should should've
now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn
hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn
shouldn't wasn wasn't weren weren't won won't wouldn wouldn't
`
    .trim()
    .split(/\s+/),
);
