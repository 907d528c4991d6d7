/**
 * Adversarial training with attack-generated text examples (TextAttack / A2T style): clean epochs first, then each
 * epoch attack a random fraction of the training set with the current model and train one epoch on the clean set
 * plus the successful adversarial texts (with their original labels).
 */
import { createRng, type Encoding, type TextTokenizer, type TransformerClassifier, UsageError } from '@parry/core';
import { type TextEpochRecord, type TextTrainOptions, trainText } from '@parry/defenses';
import { runTextAttack, type TextAttack, type TextAttackExample, type TextAttackSummary } from './attack.js';
import { parryVictim } from './white-box.js';

/** Training texts with class ids (single-label) or multi-hot rows `[n * numLabels]` (multi-label). */
export interface TextTrainSet {
  texts: readonly string[];
  labels: Int32Array | Float32Array;
}

export interface AttackAugmentedOptions {
  attack: TextAttack;
  /** Total epochs (clean + adversarial). */
  epochs: number;
  /** Epochs on clean data before attacks start (A2T uses 1). */
  cleanEpochs: number;
  /** Fraction of the training set attacked in each adversarial epoch (A2T uses 0.2). */
  fraction: number;
  /** Token limit (default 128). */
  maxLength?: number;
  /** Queries per attacked example (default unlimited). */
  queryBudget?: number;
  seed?: number;
  /** Trainer options except the ones this function sets (epochs 1 per call, seed, padId). */
  train: Omit<TextTrainOptions, 'epochs' | 'seed' | 'padId' | 'checkpointDir' | 'resume'>;
  onEpoch?: (record: AttackAugmentedEpoch) => void | Promise<void>;
}

export interface AttackAugmentedEpoch {
  epoch: number;
  adversarial: boolean;
  /** Examples attacked / adversarial texts added this epoch (0 in clean epochs). */
  attacked: number;
  added: number;
  attackSummary?: TextAttackSummary;
  train: TextEpochRecord;
}

/**
 * Train `model` in place, one `trainText` call per epoch (so the learning-rate schedule and optimizer restart every
 * epoch: the simplest honest form of A2T on Parry's trainer). Returns per-epoch records and the last epoch's
 * adversarial examples.
 */
export async function attackAugmentedTraining(
  model: TransformerClassifier,
  tokenizer: TextTokenizer,
  trainSet: TextTrainSet,
  options: AttackAugmentedOptions,
): Promise<{ epochs: AttackAugmentedEpoch[]; adversarialExamples: Array<{ text: string; source: number }> }> {
  const { epochs, cleanEpochs, fraction } = options;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new UsageError(`attackAugmentedTraining: epochs must be a positive integer, got ${epochs}`);
  if (!(Number.isInteger(cleanEpochs) && cleanEpochs >= 0 && cleanEpochs <= epochs)) {
    throw new UsageError(`attackAugmentedTraining: cleanEpochs must be an integer in 0..epochs (${epochs}), got ${cleanEpochs}`);
  }
  if (!(fraction > 0 && fraction <= 1)) throw new UsageError(`attackAugmentedTraining: fraction must be in (0, 1], got ${fraction}`);
  const multi = model.problemType === 'multi_label_classification';
  const L = model.numLabels;
  const n = trainSet.texts.length;
  if (trainSet.labels.length !== (multi ? n * L : n)) {
    throw new UsageError(`attackAugmentedTraining: ${n} texts need ${multi ? n * L : n} label entries, got ${trainSet.labels.length}`);
  }
  const maxLength = options.maxLength ?? 128;
  const seed = options.seed ?? 0;
  const rng = createRng(seed);
  const encode = (t: string): Encoding => tokenizer.encode(t, { maxLength });
  const cleanEnc = trainSet.texts.map(encode);
  const labelRow = (i: number) => (multi ? Array.from(trainSet.labels.subarray(i * L, (i + 1) * L)) : [trainSet.labels[i]]);
  const out: AttackAugmentedEpoch[] = [];
  let lastAdv: Array<{ text: string; source: number }> = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const adversarial = epoch > cleanEpochs;
    let encodings = cleanEnc;
    let labels = trainSet.labels;
    let attacked = 0;
    let attackSummary: TextAttackSummary | undefined;
    if (adversarial) {
      const pick = rng.shuffle([...Array(n).keys()]).slice(0, Math.max(1, Math.round(fraction * n)));
      attacked = pick.length;
      const examples: TextAttackExample[] = pick.map((i) =>
        multi ? { text: trainSet.texts[i], labels: labelRow(i).flatMap((z, j) => (z >= 0.5 ? [j] : [])) } : { text: trainSet.texts[i], label: trainSet.labels[i] },
      );
      const victim = parryVictim(model, tokenizer, { maxLength });
      const r = await runTextAttack(options.attack, victim, examples, { queryBudget: options.queryBudget, seed: seed + epoch });
      attackSummary = r.summary;
      lastAdv = r.records.filter((rec) => rec.status === 'successful').map((rec) => ({ text: rec.perturbed, source: pick[rec.index] }));
      encodings = [...cleanEnc, ...lastAdv.map((a) => encode(a.text))];
      const rows = [...Array(n).keys()].concat(lastAdv.map((a) => a.source)).flatMap(labelRow);
      labels = multi ? Float32Array.from(rows) : Int32Array.from(rows);
    }
    const result = await trainText(model, { encodings, labels }, { ...options.train, epochs: 1, seed: seed * 1000 + epoch, padId: tokenizer.padId });
    const rec: AttackAugmentedEpoch = { epoch, adversarial, attacked, added: adversarial ? lastAdv.length : 0, attackSummary, train: { ...result.epochs[0], epoch } };
    out.push(rec);
    await options.onEpoch?.(rec);
  }
  return { epochs: out, adversarialExamples: lastAdv };
}
