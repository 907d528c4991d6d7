/**
 * Dynamic masking for masked-language-model pre-training (BERT, Devlin et al. 2019; RoBERTa's dynamic masking, Liu et
 * al. 2019): each call draws a fresh selection from its seed and epoch, so every epoch masks different tokens.
 *
 * Token masking follows Hugging Face's `DataCollatorForLanguageModeling`: every token that is not a special token is
 * selected with probability `probability` (default 15%); a selected token becomes the mask token with probability
 * `maskRate` (80%), a random token with `randomRate` (10%), and stays itself otherwise (10%). Whole-word masking follows
 * `DataCollatorForWholeWordMask`: a row's words (a word-start piece and its continuation pieces) are taken in random
 * order until `round(probability * tokens)` tokens (at least one) are selected, skipping a word that would overshoot;
 * the 80/10/10 split is then drawn per token. One difference: random replacements are drawn from the non-special
 * tokens (Hugging Face draws from the whole vocabulary, special tokens included).
 *
 * Labels are the original ids at selected positions and {@link IGNORE_INDEX} elsewhere (the loss reads selected
 * positions only).
 */
import { createRng, UsageError } from '@parry/core';
import type { TextTokenizer } from '@parry/core';

/** The label of a position the loss ignores (torch's `CrossEntropyLoss` default `ignore_index`). */
export const IGNORE_INDEX = -100;

/** What masking needs to know of the vocabulary. */
export interface MaskingVocabulary {
  maskId: number;
  vocabSize: number;
  /** Ids never selected and never drawn as random replacements ([CLS], [SEP], [PAD], [UNK], [MASK], ...). */
  specialIds: readonly number[];
  /** Whole-word masking: whether a token continues the word before it (WordPiece `##`, byte-level BPE without `Ġ`). */
  isContinuation?: (id: number) => boolean;
}

export interface MaskingOptions {
  /** Seed of the draw; the same seed, epoch and rows give the same masks. */
  seed: number;
  /** Epoch number (default 0): each epoch draws different masks from the same seed (dynamic masking). */
  epoch?: number;
  /** Probability that a token is selected (default 0.15). */
  probability?: number;
  /** Share of selected tokens replaced by the mask token (default 0.8). */
  maskRate?: number;
  /** Share of selected tokens replaced by a random token (default 0.1); the rest stay as they are. */
  randomRate?: number;
  /** Select whole words (all pieces of a word together; default false). */
  wholeWord?: boolean;
}

export interface MaskedRows {
  /** The rows with the selected tokens masked, replaced or kept. */
  inputIds: number[][];
  /** Original ids at selected positions, {@link IGNORE_INDEX} elsewhere. */
  labels: number[][];
  /** Selected positions over all rows. */
  selected: number;
}

/**
 * The masking vocabulary of a tokenizer: its mask token (required), its special tokens (pad, unk, cls, sep, mask, and
 * any token written `[...]` or `<...>`), and which tokens continue a word.
 */
export function maskingVocabulary(tokenizer: TextTokenizer): MaskingVocabulary {
  if (tokenizer.maskId === undefined) throw new UsageError('the tokenizer has no mask token ([MASK] or <mask>); add one to the vocabulary to pre-train a masked LM');
  const specials = new Set([tokenizer.padId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId, tokenizer.maskId]);
  const bpe = tokenizer.tokenize('hello world').some((t) => t.startsWith('\u0120'));
  const continuation = new Uint8Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const tok = tokenizer.idToToken(id);
    if (tok === undefined) continue;
    if (/^\[[^\]\s]+\]$|^<[^>\s]+>$/.test(tok)) specials.add(id);
    else if (bpe ? !tok.startsWith('\u0120') : tok.startsWith('##')) continuation[id] = 1;
  }
  return { maskId: tokenizer.maskId, vocabSize: tokenizer.vocabSize, specialIds: [...specials].sort((a, b) => a - b), isContinuation: (id) => continuation[id] === 1 };
}

/** Mask token rows for one step of MLM pre-training (see the module comment). Rows may differ in length; they are not modified. */
export function maskTokens(rows: readonly (readonly number[])[], vocab: MaskingVocabulary, options: MaskingOptions): MaskedRows {
  const p = options.probability ?? 0.15;
  const maskRate = options.maskRate ?? 0.8;
  const randomRate = options.randomRate ?? 0.1;
  const epoch = options.epoch ?? 0;
  for (const [name, v] of [['probability', p], ['maskRate', maskRate], ['randomRate', randomRate]] as const) {
    if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new UsageError(`masking ${name} must be in [0, 1], got ${String(v)}`);
  }
  if (maskRate + randomRate > 1 + 1e-12) throw new UsageError(`masking maskRate ${maskRate} + randomRate ${randomRate} exceeds 1; lower one of them`);
  if (!Number.isSafeInteger(options.seed)) throw new UsageError(`masking seed must be an integer, got ${String(options.seed)}`);
  if (!Number.isInteger(epoch) || epoch < 0) throw new UsageError(`masking epoch must be an integer >= 0, got ${String(epoch)}`);
  if (options.wholeWord && !vocab.isContinuation) throw new UsageError('whole-word masking needs the vocabulary\'s isContinuation (use maskingVocabulary(tokenizer))');
  const special = new Set(vocab.specialIds);
  if (!Number.isInteger(vocab.maskId) || vocab.maskId < 0 || vocab.maskId >= vocab.vocabSize) {
    throw new UsageError(`the mask id ${vocab.maskId} is outside the vocabulary (0..${vocab.vocabSize - 1})`);
  }
  const ordinary: number[] = [];
  for (let id = 0; id < vocab.vocabSize; id++) if (!special.has(id)) ordinary.push(id);
  if (ordinary.length === 0 && randomRate > 0) throw new UsageError('the vocabulary has no ordinary tokens to draw random replacements from');
  // One stream per (seed, epoch): epoch e is the (e+1)-th fork of the seed's stream.
  const base = createRng(options.seed);
  let rng = base.fork();
  for (let e = 0; e < epoch; e++) rng = base.fork();

  const inputIds: number[][] = [];
  const labels: number[][] = [];
  let selected = 0;
  for (const row of rows) {
    const ids = [...row];
    const lab = new Array<number>(row.length).fill(IGNORE_INDEX);
    const chosen: number[] = [];
    if (options.wholeWord) {
      // Words: runs of eligible positions where each later piece continues the one before.
      const words: number[][] = [];
      let eligible = 0;
      row.forEach((id, i) => {
        if (special.has(id)) return;
        eligible++;
        const last = words[words.length - 1];
        if (last && last[last.length - 1] === i - 1 && vocab.isContinuation!(id)) last.push(i);
        else words.push([i]);
      });
      const target = eligible === 0 || p === 0 ? 0 : Math.max(1, Math.round(eligible * p));
      for (const word of rng.shuffle(words)) {
        if (chosen.length >= target) break;
        if (chosen.length + word.length > target) continue;
        chosen.push(...word);
      }
      chosen.sort((a, b) => a - b);
    } else {
      row.forEach((id, i) => {
        if (!special.has(id) && rng.float() < p) chosen.push(i);
      });
    }
    for (const i of chosen) {
      lab[i] = row[i];
      const u = rng.float();
      if (u < maskRate) ids[i] = vocab.maskId;
      else if (u < maskRate + randomRate) ids[i] = ordinary[rng.int(ordinary.length)];
    }
    selected += chosen.length;
    inputIds.push(ids);
    labels.push(lab);
  }
  return { inputIds, labels, selected };
}
