import { describe, expect, it } from 'vitest';
import { createPosTagger } from './pos.js';

const tagger = createPosTagger();
const tags = (sentence: string) => tagger.tag(sentence.split(' '));

describe('createPosTagger (wink-nlp, English lite model)', () => {
  it('tags words in context with Universal POS tags (NOUN, VERB, ADJ, ADV)', () => {
    expect(tags('The film was surprisingly good')).toEqual(['DET', 'NOUN', 'AUX', 'ADV', 'ADJ']);
    expect(tags('She runs quickly to the old station')).toEqual(['PRON', 'VERB', 'ADV', 'ADP', 'DET', 'ADJ', 'NOUN']);
    // the same word by its context: a verb after "they", a noun after "the"
    expect(tagger.tag(['they', 'love', 'movies'])[1]).toBe('VERB');
    expect(tagger.tag(['the', 'love', 'story'])[1]).toBe('NOUN');
  });

  it('aligns its tokens back to the words given: punctuation, contractions, hyphens', () => {
    const words = ['I', "don't", 'like', 'the', 'well-made', 'film', ',', 'sadly', '.'];
    const t = tagger.tag(words);
    expect(t).toHaveLength(words.length);
    // don't = do + n't: the tag of its first content token; well-made = well - made: first token not punctuation
    expect(t).toEqual(['PRON', 'AUX', 'VERB', 'DET', 'ADV', 'NOUN', 'PUNCT', 'ADV', 'PUNCT']);
    // a word with trailing punctuation keeps its content tag; an empty list gives no tags; an empty word gets X
    expect(tagger.tag(['a', 'great', 'film!'])).toEqual(['DET', 'ADJ', 'NOUN']);
    expect(tagger.tag([])).toEqual([]);
    expect(tagger.tag(['good', '', 'film'])).toEqual([expect.any(String), 'X', 'NOUN']);
  });

  it('is fast once loaded (the model loads once, when the first tagger is created)', () => {
    tagger.tag(['warm', 'up']);
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) tagger.tag(['the', 'acting', 'is', 'superb', 'and', 'the', 'plot', 'moves', 'briskly']);
    const perSentence = (performance.now() - t0) / 500;
    // about 0.1 ms a sentence on a laptop; the bound is loose for loaded machines
    expect(perSentence).toBeLessThan(5);
  });
});
