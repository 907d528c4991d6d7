/**
 * Attacking text models through the one plugin registry: the word resources recipes declare (WordNet, stopwords,
 * word vectors), `attackText` (build a registered recipe for a victim, run it, summarise it as a results entry), and
 * the attack runner that attack-based defenses (A2T) receive from the trainer.
 */
import {
  buildTextAttack,
  type GoalSpec,
  InputError,
  type MaskedLanguageModel,
  type PosTagger,
  type Registry,
  type SentenceEncoder,
  runTextAttack,
  type TextAttack,
  type TextAttackExample,
  type TextAttackRecord,
  type TextAttackRunner,
  type TextAttackSummary,
  type TextResources,
  type TextVictim,
  UsageError,
  type WhiteBoxTextModel,
  type WordVectors,
} from '@parry/core';
import { parryVictim } from '@parry/attacks';
import { type TextAttackEntry, textAttackEntry } from '@parry/metrics';
import { openSentenceEncoder } from './sentence-encoder.js';
import {
  createMaskedLanguageModel,
  createPosTagger,
  createWordNet,
  edaSynonyms,
  loadMaskedLm,
  loadWordVectors,
  modelWordVectors,
  STOPWORD_SETS,
} from '@parry/text';

/**
 * The resources of one attack run, each loaded on first use: WordNet 3.1 synonyms (single lower-case lemmas, the same
 * filter EDA augmentation uses), the stopword list a recipe names (NLTK's, TextFooler's, or EDA's when none is named),
 * word vectors — the GloVe-format file given, else the victim's own input embeddings (white-box victims only) — a
 * part-of-speech tagger (wink-nlp's English lite model), and the sentence encoder given (`sentenceEncoder` is absent
 * when none is, so the sentence-similarity constraint falls back to mean word vectors and says so).
 */
export function textResources(o: { victim: TextVictim; wordVectors?: string; maskedLm?: string; sentenceEncoder?: SentenceEncoder }): TextResources {
  let vectors: Promise<WordVectors> | undefined;
  let synonyms: ((word: string) => string[]) | undefined;
  let tagger: PosTagger | undefined;
  let masked: Promise<MaskedLanguageModel> | undefined;
  return {
    ...(o.sentenceEncoder ? { sentenceEncoder: async () => o.sentenceEncoder! } : {}),
    stopwords: (list) => STOPWORD_SETS[list ?? 'eda'],
    async synonyms() {
      if (!synonyms) {
        const wordnet = createWordNet();
        synonyms = (word) => edaSynonyms(word, wordnet);
      }
      return synonyms;
    },
    wordVectors() {
      if (!vectors) {
        if (o.wordVectors) vectors = Promise.resolve(loadWordVectors(o.wordVectors));
        else if (o.victim.whiteBox) vectors = modelWordVectors(o.victim.whiteBox.model, o.victim.whiteBox.tokenizer);
        else {
          return Promise.reject(
            new UsageError(`this recipe needs word vectors and ${o.victim.name} is black-box: pass --word-vectors <GloVe-format .txt> (wordVectors)`),
          );
        }
      }
      return vectors;
    },
    async posTagger() {
      tagger ??= createPosTagger();
      return tagger;
    },
    maskedLm(): Promise<MaskedLanguageModel> {
      if (!o.maskedLm) return Promise.reject(new UsageError('this recipe needs a masked language model: pass --masked-lm <folder> (a masked-LM folder, e.g. bert-base-uncased or one written by parry pretrain; maskedLm)'));
      // Loaded once per run: the folder's masked LM and its tokenizer, answering BAE / BERT-Attack queries in batches.
      masked ??= loadMaskedLm(o.maskedLm).then(({ model, tokenizer }) => {
        if (!tokenizer) {
          model.dispose();
          throw new InputError(`--masked-lm ${o.maskedLm} has no tokenizer files (tokenizer.json or vocab.txt); add the tokenizer the model was trained with`);
        }
        return createMaskedLanguageModel(model, tokenizer, { name: `masked-lm ${o.maskedLm}` });
      });
      return masked;
    },
  };
}

export interface AttackTextOptions {
  /** Built-ins and plugins (see `createParryRegistry`). */
  registry: Registry;
  /** A registered text attack: full name or unambiguous short name (`pwws`). */
  attack: string;
  /** The recipe's own options (validated strictly by its schema). */
  attackOptions?: Record<string, unknown>;
  /** Default: untargeted (single-label) or flip-any-gold (multi-label). */
  goal?: GoalSpec;
  victim: TextVictim;
  examples: readonly TextAttackExample[];
  labelNames: readonly string[];
  /** Queries per example, the original text included (default unlimited). */
  queryBudget?: number;
  seed?: number;
  /** A GloVe-format word-vector file for recipes that need word vectors (default: the victim's embeddings). */
  wordVectors?: string;
  /**
   * The sentence encoder of the sentence-similarity constraint (TextFooler): a folder (see `openSentenceEncoder`; loaded
   * for this call and released after it) or a loaded encoder (the caller keeps it). Default: none (mean word vectors
   * stand in, as the notes say).
   */
  sentenceEncoder?: string | SentenceEncoder;
  /** A masked-LM folder for recipes that need a masked language model (`bae`, `bert-attack`). */
  maskedLm?: string;
  /** Per-example records kept in the results entry (default: every example, compact: see `textAttackEntry`). */
  keepExamples?: number;
  /** Examples attacked at once, their candidates scored in shared model calls (default 8; 1 = one at a time). */
  concurrency?: number;
  /** Reuse scores of texts already scored for the same example (default true; false only to measure the cache). */
  cache?: boolean;
  onExample?: (record: TextAttackRecord, done: number, total: number) => void;
  /** Index of the first example in the whole run when `examples` is a shard's block (random streams and record indices follow it; default 0). */
  offset?: number;
  /** Records of examples an interrupted run finished (keyed by position in `examples`): not attacked again (see `runTextAttack`). */
  done?: ReadonlyMap<number, TextAttackRecord>;
}

/** Build a registered text attack for the victim, run it over the examples and summarise it as a results entry. */
export async function attackText(o: AttackTextOptions): Promise<{ records: TextAttackRecord[]; summary: TextAttackSummary; entry: TextAttackEntry }> {
  if (o.victim.labelNames.length !== o.labelNames.length) {
    throw new UsageError(`${o.victim.name} has ${o.victim.labelNames.length} labels but the data has ${o.labelNames.length}; attack it with its own data`);
  }
  const goal: GoalSpec = o.goal ?? (o.victim.outputKind === 'multi-label' ? { kind: 'flip-any-gold' } : { kind: 'untargeted' });
  const opened = typeof o.sentenceEncoder === 'string' ? await openSentenceEncoder(o.sentenceEncoder, 'sentenceEncoder') : undefined;
  const sentenceEncoder = opened ?? (typeof o.sentenceEncoder === 'string' ? undefined : o.sentenceEncoder);
  let attack: TextAttack;
  let run: { records: TextAttackRecord[]; summary: TextAttackSummary };
  try {
    const resources = textResources({ victim: o.victim, wordVectors: o.wordVectors, maskedLm: o.maskedLm, sentenceEncoder });
    ({ attack } = await buildTextAttack(o.registry, o.attack, o.attackOptions, { victim: o.victim, goal, resources }));
    run = await runTextAttack(attack, o.victim, o.examples, {
      queryBudget: o.queryBudget,
      seed: o.seed ?? 0,
      concurrency: o.concurrency ?? 8,
      cache: o.cache,
      onExample: o.onExample,
      offset: o.offset,
      done: o.done,
    });
  } finally {
    await opened?.dispose();
  }
  const { records, summary } = run;
  const entry = textAttackEntry({
    summary,
    records,
    goal,
    options: { ...(attack.options ?? {}), ...(o.wordVectors ? { wordVectors: o.wordVectors } : {}), ...(o.maskedLm ? { maskedLm: o.maskedLm } : {}), ...(sentenceEncoder ? { sentenceEncoder: sentenceEncoder.name } : {}) },
    queryBudget: o.queryBudget,
    labelNames: o.labelNames,
    keepExamples: o.keepExamples,
  });
  return { records, summary, entry };
}

/**
 * The attack runner the text trainer hands to attack-based defenses (`trainText({ attacks })`, used by `parry/a2t`):
 * it wraps the model being trained as a white-box victim and runs the named registered recipe.
 */
export function registryAttackRunner(registry: Registry, o: { wordVectors?: string; sentenceEncoder?: SentenceEncoder } = {}): TextAttackRunner {
  return {
    async run(name, examples, options) {
      const model = options.model as WhiteBoxTextModel;
      if (typeof model.wordEmbeddings !== 'function' || !Array.isArray(model.labelNames)) {
        throw new UsageError(`attack ${name} during training needs a Parry encoder (labelNames and word embeddings)`);
      }
      const victim = parryVictim(model, options.tokenizer, { maxLength: options.maxLength });
      const resources = textResources({ victim, wordVectors: o.wordVectors, sentenceEncoder: o.sentenceEncoder });
      const goal: GoalSpec = model.outputKind === 'multi-label' ? { kind: 'flip-any-gold' } : { kind: 'untargeted' };
      const { attack } = await buildTextAttack(registry, name, options.attackOptions, { victim, goal, resources });
      return runTextAttack(attack, victim, examples, { queryBudget: options.queryBudget, seed: options.seed, concurrency: 8 });
    },
  };
}
