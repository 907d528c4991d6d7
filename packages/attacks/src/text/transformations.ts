/**
 * Transformations: for the words a search may change, the replacement words to try. Word swaps keep the word's
 * position (a perturbed text differs from the original only inside changed words).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Candidate, defineTextComponent, matchCase, type Rng, type TextState, type TextTokenizer, type Transformation, UsageError, type WordVectors, z } from '@parry/core';
import { canPrefetch, HOMOGLYPHS, wholeWordVocabulary } from '@parry/text';
import { alignWords, embeddingGradient } from './white-box.js';




const LETTERS_ONLY = /^\p{L}+$/u;

/** WordNet synonym swap: single-word synonyms of each word (case pattern kept), from the `synonyms` look-up given. */
export function wordNetSwap(options: { synonyms: (word: string) => string[]; maxCandidates?: number }): Transformation {
  const max = options.maxCandidates ?? Infinity;
  return {
    name: 'wordnet-swap',
    candidates(state, indices) {
      const out: Candidate[] = [];
      for (const i of indices) {
        const w = state.words[i];
        const seen = new Set<string>([w.toLowerCase()]);
        for (const s of options.synonyms(w.toLowerCase())) {
          if (!LETTERS_ONLY.test(s) || seen.has(s.toLowerCase())) continue;
          seen.add(s.toLowerCase());
          out.push({ index: i, word: matchCase(s, w) });
          if (seen.size > max) break;
        }
      }
      return out;
    },
  };
}

/** Nearest neighbours in a word-vector space (the `maxCandidates` closest words with cosine >= `minCosine`). */
export function embeddingSwap(options: { vectors: WordVectors; maxCandidates?: number; minCosine?: number }): Transformation {
  const k = options.maxCandidates ?? 50;
  const minCos = options.minCosine ?? -1;
  return {
    name: 'embedding-swap',
    candidates(state, indices) {
      const out: Candidate[] = [];
      // the text's words in one batch (Parry's word vectors): the search asks for them one after another
      if (indices.length && canPrefetch(options.vectors)) options.vectors.prefetch(state.words, k);
      for (const i of indices) {
        const w = state.words[i];
        for (const n of options.vectors.neighbours(w, k)) {
          if (n.cosine >= minCos && LETTERS_ONLY.test(n.word) && n.word !== w.toLowerCase()) out.push({ index: i, word: matchCase(n.word, w) });
        }
      }
      return out;
    },
  };
}

/** Character edits of DeepWordBug (Gao et al. 2018) plus homoglyph substitution. */
export const CHAR_EDIT_KINDS = ['swap', 'substitute', 'delete', 'insert', 'homoglyph'] as const;
export type CharEditKind = (typeof CHAR_EDIT_KINDS)[number];


const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

/** All edits of one kind of `word` (each position; random letters for substitute/insert). */
export function charEdits(word: string, kind: CharEditKind, rng: Rng): string[] {
  const chars = [...word];
  const n = chars.length;
  const out: string[] = [];
  const letter = (not?: string) => {
    let c = ALPHABET[rng.int(26)];
    while (c === not) c = ALPHABET[rng.int(26)];
    return c;
  };
  for (let i = 0; i < n; i++) {
    const pre = chars.slice(0, i).join('');
    const post = chars.slice(i + 1).join('');
    if (kind === 'swap' && i + 1 < n && chars[i] !== chars[i + 1]) out.push(pre + chars[i + 1] + chars[i] + chars.slice(i + 2).join(''));
    if (kind === 'substitute') out.push(pre + letter(chars[i].toLowerCase()) + post);
    if (kind === 'delete' && n > 1) out.push(pre + post);
    if (kind === 'insert') out.push(pre + letter() + chars[i] + post);
    if (kind === 'homoglyph' && HOMOGLYPHS[chars[i]]) out.push(pre + HOMOGLYPHS[chars[i]] + post);
  }
  return [...new Set(out)].filter((w) => w !== word);
}

/**
 * DeepWordBug-style character edits: for each word and each enabled edit kind, one random edit (`randomOne`, as
 * TextAttack's recipe) or every edit.
 */
export function charEditSwap(options: { edits?: readonly CharEditKind[]; randomOne?: boolean } = {}): Transformation {
  const edits = options.edits ?? ['swap', 'substitute', 'delete', 'insert'];
  const randomOne = options.randomOne ?? true;
  return {
    name: 'char-edits',
    candidates(state, indices, ctx) {
      const out: Candidate[] = [];
      for (const i of indices) {
        const seen = new Set<string>();
        for (const kind of edits) {
          const all = charEdits(state.words[i], kind, ctx.rng);
          const pick = randomOne ? (all.length ? [all[ctx.rng.int(all.length)]] : []) : all;
          for (const w of pick) if (!seen.has(w)) (seen.add(w), out.push({ index: i, word: w }));
        }
      }
      return out;
    },
  };
}

const vocabCache = new WeakMap<TextTokenizer, Array<{ id: number; word: string }>>();

/**
 * HotFlip (Ebrahimi et al. 2018), white-box: for each word that is a single whole-word token, the first-order gain of
 * the goal score from swapping it for vocabulary token v is `(e_v - e_old) . grad`; the candidates are the `topN` best
 * whole-word tokens of each word (`topNOver: 'word'`, the default), or the `topN` best (word, token) pairs of the whole
 * text (`'text'`, as TextAttack's WordSwapGradientBased, which sorts all pairs and stops after `top_n`). One gradient
 * call per state.
 */
export function hotFlip(options: { topN?: number; topNOver?: 'word' | 'text' } = {}): Transformation {
  const topN = options.topN ?? 1;
  const overText = options.topNOver === 'text';
  return {
    name: 'hotflip',
    needsWhiteBox: true,
    candidates(state, indices, ctx) {
      const wb = ctx.victim.whiteBox;
      if (!wb) throw new UsageError(`hotflip needs a white-box victim (a Parry model); ${ctx.victim.name} gives scores only`);
      const { tokenizer, model, maxLength, truncation } = wb;
      let vocab = vocabCache.get(tokenizer);
      if (!vocab) vocabCache.set(tokenizer, (vocab = wholeWordVocabulary(tokenizer)));
      if (vocab.length === 0 || indices.length === 0) return [];
      const text = state.text;
      const align = alignWords(tokenizer, text, state.spans, maxLength, truncation);
      const usable = indices.filter((i) => align.positions[i].length === 1);
      if (usable.length === 0) return [];
      const { grad, dim } = embeddingGradient(wb, align.ids, align.typeIds, ctx.goal);
      ctx.counters.gradientCalls++;
      const rows = new Float32Array(usable.length * dim);
      usable.forEach((i, r) => rows.set(grad.subarray(align.positions[i][0] * dim, (align.positions[i][0] + 1) * dim), r * dim));
      const k = Math.min(topN + 1, vocab.length);
      const [vals, idx, olds] = tf.tidy(() => {
        const E = tf.gather(model.wordEmbeddings(), tf.tensor1d(Int32Array.from(vocab!, (v) => v.id), 'int32'));
        const G = tf.tensor2d(rows, [usable.length, dim]);
        const s = tf.matMul(G, E, false, true); // [P, V']
        const { values, indices: ix } = tf.topk(s, k);
        const O = tf.gather(model.wordEmbeddings(), tf.tensor1d(Int32Array.from(usable, (i) => align.ids[align.positions[i][0]]), 'int32'));
        return [values, ix, tf.sum(tf.mul(G, O), 1)]; // e_old . grad per word
      });
      const top = idx.arraySync() as number[][];
      const score = vals.arraySync() as number[][];
      const oldScore = olds.arraySync() as number[];
      tf.dispose([vals, idx, olds]);
      const perWord: Array<Candidate & { gain: number }> = [];
      usable.forEach((i, r) => {
        const old = state.words[i].toLowerCase();
        let added = 0;
        top[r].forEach((j, c) => {
          const w = vocab![j].word;
          if (w.toLowerCase() === old || added >= topN) return;
          perWord.push({ index: i, word: matchCase(w, state.words[i]), gain: score[r][c] - oldScore[r] }); // (e_v - e_old) . grad
          added++;
        });
      });
      const picked = overText ? [...perWord].sort((a, b) => b.gain - a.gain || a.index - b.index).slice(0, topN) : perWord;
      return picked.map(({ index, word }) => ({ index, word }));
    },
  };
}

/** Transformations as registered components (factories). */
export const transformationComponents = [
  defineTextComponent({
    kind: 'transformation',
    name: 'parry/wordnet-swap',
    summary: 'swap a word for a WordNet synonym (single words only; case kept)',
    needs: ['wordnet'],
    options: z.object({ maxCandidates: z.number().int().positive().optional().describe('synonyms tried per word (default all)') }),
    create: async (ctx, o) => wordNetSwap({ synonyms: await ctx.resources.synonyms(), maxCandidates: o.maxCandidates }),
  }),
  defineTextComponent({
    kind: 'transformation',
    name: 'parry/embedding-swap',
    summary: 'swap a word for one of its nearest neighbours in a word-vector space (GloVe file or the model embeddings)',
    needs: ['word-vectors'],
    options: z.object({ maxCandidates: z.number().int().positive().default(50), minCosine: z.number().min(-1).max(1).default(-1) }),
    create: async (ctx, o) => embeddingSwap({ vectors: await ctx.resources.wordVectors(), ...o }),
  }),
  defineTextComponent({
    kind: 'transformation',
    name: 'parry/char-edits',
    summary: 'DeepWordBug character edits: neighbour swap, substitute, delete, insert, and homoglyphs',
    options: z.object({ edits: z.array(z.enum(CHAR_EDIT_KINDS)).min(1).default(['swap', 'substitute', 'delete', 'insert']), randomOne: z.boolean().default(true) }),
    create: (_ctx, o) => charEditSwap(o),
  }),
  defineTextComponent({
    kind: 'transformation',
    name: 'parry/hotflip-swap',
    summary: 'HotFlip: gradient-guided swap of whole-word tokens (white-box Parry models only)',
    needs: ['gradients'],
    options: z.object({
      topN: z.number().int().positive().default(1),
      topNOver: z.enum(['word', 'text']).default('word').describe('topN per word, or over the whole text (TextAttack)'),
    }),
    create: (_ctx, o) => hotFlip(o),
  }),
];
