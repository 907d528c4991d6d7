/**
 * Masked-language-model word swaps and insertions (BAE, BERT-Attack), on the `MaskedLanguageModel` contract of
 * `@parry/core`. The predictions are asynchronous, so the transformation has a `prepare` step that the searches await:
 * it asks the model about every position a search step needs in ONE `predictBatch` call, and `candidates` then reads
 * the answers. Answers are kept (bounded) by words, index and mode, so a state asked about twice costs one call.
 */
import {
  type Candidate,
  type CandidateCheck,
  type Constraint,
  defineTextComponent,
  type MaskedLanguageModel,
  type MaskedLmCandidate,
  type MaskedLmQuery,
  matchCase,
  splitWords,
  type TextState,
  type Transformation,
  z,
} from '@parry/core';

/** How the candidates are read from the model: BAE (mask the word, or insert a mask next to it) or BERT-Attack (the unmasked text). */
export const MASKED_LM_METHODS = ['bae', 'bert-attack'] as const;
export type MaskedLmMethod = (typeof MASKED_LM_METHODS)[number];

/** BAE's operations: `replace` (BAE-R), `insert` (BAE-I: a new word left or right of the word), `replace-insert` (BAE-R/I: either). */
export const BAE_OPERATIONS = ['replace', 'insert', 'replace-insert'] as const;
export type BaeOperation = (typeof BAE_OPERATIONS)[number];

type Mode = NonNullable<MaskedLmQuery['mode']>;

const MODES: Record<MaskedLmMethod | BaeOperation, readonly Mode[]> = {
  'bae': ['mask'],
  'replace': ['mask'],
  'insert': ['insert-before', 'insert-after'],
  'replace-insert': ['mask', 'insert-before', 'insert-after'],
  'bert-attack': ['unmasked'],
};

const LETTER = /\p{L}/u;

/** One word as `splitWords` reads it (so the perturbed text keeps its word count), with at least one letter. */
function isWord(w: string): boolean {
  const s = splitWords(w);
  return s.length === 1 && s[0].text === w && LETTER.test(w);
}

/** An insertion candidate is the new word and the old one in a single slot, separated by a space. */
export function isInsertion(word: string): boolean {
  return /\s/u.test(word);
}

export interface MaskedLmSwapOptions {
  model: MaskedLanguageModel;
  /** `bae` (default) or `bert-attack`. */
  method?: MaskedLmMethod;
  /** BAE only: `replace` (default), `insert` or `replace-insert`. */
  operations?: BaeOperation;
  /** Top-k asked of the model per position (default 50). */
  maxCandidates?: number;
  /** Candidates the model scores below this are dropped (default 0: none). */
  minConfidence?: number;
  /** Model answers kept (default 8192; the oldest are forgotten first). */
  cacheSize?: number;
}

/** A transformation with the `prepare` step (always present here). */
export type MaskedLmTransformation = Transformation & Required<Pick<Transformation, 'prepare'>> & { readonly modes: readonly Mode[] };

/**
 * Masked-LM swaps: for each word, the model's top `maxCandidates` words at its position (BAE-R: the word masked;
 * BERT-Attack: the text read unmasked, multi-piece words combined by the model), and with BAE-I a word inserted before
 * or after it (the candidate then holds both words, so the text grows by one word). Candidates are whole words with a
 * letter, not the current word, scored at least `minConfidence`; replacements take the current word's case, inserted
 * words stay as the model gives them.
 */
export function maskedLmSwap(options: MaskedLmSwapOptions): MaskedLmTransformation {
  const method = options.method ?? 'bae';
  const ops = method === 'bae' ? (options.operations ?? 'replace') : undefined;
  const modes = MODES[ops ?? method];
  const k = options.maxCandidates ?? 50;
  const minConf = options.minConfidence ?? 0;
  const cap = options.cacheSize ?? 8192;
  const cache = new Map<string, MaskedLmCandidate[]>();
  const key = (words: readonly string[], index: number, mode: Mode) => `${mode}\u0001${index}\u0001${words.join('\u0000')}`;
  const label = method === 'bert-attack' ? 'bert-attack' : { replace: 'bae-r', insert: 'bae-i', 'replace-insert': 'bae-r/i' }[ops!];
  return {
    name: `masked-lm(${label}, k=${k}${minConf > 0 ? `, p>=${minConf}` : ''})`,
    modes,
    async prepare(state, indices) {
      const queries: MaskedLmQuery[] = [];
      const keys: string[] = [];
      const pending = new Set<string>();
      for (const index of indices) {
        for (const mode of modes) {
          const kk = key(state.words, index, mode);
          if (cache.has(kk) || pending.has(kk)) continue;
          pending.add(kk);
          keys.push(kk);
          queries.push({ words: state.words, index, k, mode });
        }
      }
      if (queries.length === 0) return;
      const answers = await options.model.predictBatch(queries);
      if (!Array.isArray(answers) || answers.length !== queries.length) {
        throw new Error(`masked language model ${options.model.name} answered ${Array.isArray(answers) ? answers.length : 'no list'} for ${queries.length} queries`);
      }
      for (const old of cache.keys()) {
        if (cache.size + keys.length <= cap) break;
        cache.delete(old);
      }
      keys.forEach((kk, n) => cache.set(kk, answers[n]));
    },
    candidates(state, indices) {
      const out: Candidate[] = [];
      for (const index of indices) {
        const current = state.words[index];
        const seen = new Set<string>();
        for (const mode of modes) {
          const answer = cache.get(key(state.words, index, mode));
          if (!answer) throw new Error(`masked-LM swap: word ${index} of "${state.text}" was not prepared (a search must await transformation.prepare before candidates)`);
          for (const c of answer) {
            if (!(c.score >= minConf) || !isWord(c.word)) continue;
            let word: string;
            if (mode === 'mask' || mode === 'unmasked') {
              if (c.word.toLowerCase() === current.toLowerCase()) continue;
              word = matchCase(c.word, current);
            } else word = mode === 'insert-before' ? `${c.word} ${current}` : `${current} ${c.word}`;
            if (seen.has(word)) continue;
            seen.add(word);
            out.push({ index, word });
          }
        }
      }
      return out;
    },
  };
}

/**
 * `constraint` applied to word replacements only: insertions (BAE-I) pass it. BAE checks the part of speech for its R
 * operations only, and TextAttack's PartOfSpeech is a word-swap constraint.
 */
export function swapsOnly(constraint: Constraint): Constraint {
  const inner = constraint.allowCandidate?.bind(constraint);
  const batch = constraint.allowCandidates?.bind(constraint);
  return {
    name: `${constraint.name} (replacements)`,
    ...(constraint.allowIndex ? { allowIndex: constraint.allowIndex.bind(constraint) } : {}),
    ...(inner ? { allowCandidate: (state: TextState, index: number, word: string) => isInsertion(word) || inner(state, index, word) } : {}),
    ...(batch
      ? {
          async allowCandidates(items: readonly CandidateCheck[]) {
            const swaps = items.flatMap((it, j) => (isInsertion(it.word) ? [] : [j]));
            const verdicts = swaps.length ? await batch(swaps.map((j) => items[j])) : [];
            const out = items.map(() => true);
            swaps.forEach((j, v) => (out[j] = verdicts[v] === true));
            return out;
          },
        }
      : {}),
    ...(constraint.note ? { note: constraint.note } : {}),
  };
}

/** The masked-LM transformation as a registered component. */
export const maskedLmComponents = [
  defineTextComponent({
    kind: 'transformation',
    name: 'parry/masked-lm-swap',
    summary: 'swap (BAE-R), insert next to (BAE-I) or swap from the unmasked text (BERT-Attack) with a masked language model',
    needs: ['masked-lm'],
    options: z.object({
      method: z.enum(MASKED_LM_METHODS).default('bae').describe('bae: mask the word (or insert a mask); bert-attack: read the text unmasked'),
      operations: z.enum(BAE_OPERATIONS).default('replace').describe('bae: replace (BAE-R), insert (BAE-I) or replace-insert (BAE-R/I)'),
      maxCandidates: z.number().int().positive().default(50).describe('top-k words asked of the model per position'),
      minConfidence: z.number().min(0).max(1).default(0).describe('drop candidates the model scores below this'),
    }),
    create: async (ctx, o) => maskedLmSwap({ model: await ctx.resources.maskedLm(), ...o }),
  }),
];
