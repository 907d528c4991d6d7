/**
 * A part-of-speech tagger over wink-nlp with its English lite model (wink-eng-lite-web-model): MIT, maintained, pure
 * JavaScript (no native code, no download), Universal POS tags, about 95% tagging accuracy as its authors report, and
 * fast (a sentence in well under a millisecond once loaded). The model is loaded once per process, when the first tagger
 * is created (an attack's setup, not its first query: about 0.3 s that would otherwise count in the attack's time).
 */
import { createRequire } from 'node:module';
import type { PosTagger } from '@parry/core';
import type WinkFn from 'wink-nlp';

export type { PosTagger } from '@parry/core';

type Nlp = ReturnType<typeof WinkFn>;

let loaded: Nlp | undefined;

function nlp(): Nlp {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const winkNLP = require('wink-nlp') as typeof WinkFn;
    const model = require('wink-eng-lite-web-model') as Parameters<typeof WinkFn>[0];
    loaded = winkNLP(model, ['pos']);
  }
  return loaded;
}

/**
 * Universal POS tags of words read in context: the words are joined with single spaces and tagged as one text, and
 * wink's tokens are aligned back to the words by character offsets. A word wink splits into several tokens (`don't` →
 * `do` + `n't`, `well-made` → `well` `-` `made`) gets the tag of its first token that is not punctuation (or `PUNCT`
 * when all are); a word with no token (empty) gets `X`.
 */
export function createPosTagger(): PosTagger {
  nlp();
  return {
    tag(words) {
      if (words.length === 0) return [];
      const starts: number[] = [];
      let text = '';
      for (const w of words) {
        if (text) text += ' ';
        starts.push(text.length);
        text += w;
      }
      const its = nlp().its;
      const tokens = nlp().readDoc(text).tokens();
      const values = tokens.out(its.value) as string[];
      const pos = tokens.out(its.pos) as string[];
      const spaces = tokens.out(its.precedingSpaces) as string[];
      const tags: Array<string | undefined> = words.map(() => undefined);
      const punct: boolean[] = words.map(() => false);
      let cursor = 0;
      let w = 0;
      for (let t = 0; t < values.length; t++) {
        let at = cursor + spaces[t].length;
        if (text.slice(at, at + values[t].length) !== values[t]) {
          const found = text.indexOf(values[t], cursor);
          if (found < 0) continue; // a token wink normalised: no place in the text, no tag
          at = found;
        }
        const end = at + values[t].length;
        cursor = end;
        // every word this token overlaps (normally one) takes its tag unless it has a content tag already
        while (w < words.length && starts[w] + words[w].length <= at) w++;
        for (let k = w; k < words.length && starts[k] < end; k++) {
          if (tags[k] === undefined || (punct[k] && pos[t] !== 'PUNCT')) {
            tags[k] = pos[t];
            punct[k] = pos[t] === 'PUNCT';
          }
        }
      }
      return tags.map((t) => t ?? 'X');
    },
  };
}
