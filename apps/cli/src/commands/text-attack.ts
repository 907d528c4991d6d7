/**
 * `parry eval --model <text model> --attack pwws|textfooler|deepwordbug|hotflip`: run a TextAttack-style recipe on a
 * split and write the summary table and per-example records into results.json. `listTextAttackComponents` feeds
 * `parry list`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  loadWordVectors,
  modelWordVectors,
  parryVictim,
  runTextAttack,
  textComponentInfo,
  textRecipe,
  type TextAttackRecord,
  type TextComponentInfo,
  type TextVictim,
  type WordVectors,
} from '@parry/attacks';
import { guardOutput, InputError, UsageError } from '@parry/core';
import { loadPretrained } from '@parry/text';
import { createWordNet, edaSynonyms } from '@parry/text';
import { type Results, writeResults } from '@parry/metrics';
import { createProgress } from '../progress.js';
import { log, out, resultsHeader, setupBackend } from '../context.js';
import { loadTextSplit, type TextDataSpec } from '../text-data.js';
import { hubFlags, readTrainingInfo, type TextRunFlags } from './text.js';

export interface TextAttackCommandOptions extends Partial<TextDataSpec>, TextRunFlags {
  /** A Parry / Hugging Face model folder (config.json + model.safetensors + tokenizer). */
  model: string;
  split: 'train' | 'dev' | 'test';
  /** Recipe: pwws, textfooler, deepwordbug or hotflip. */
  attack: string;
  /** Attack the first n examples (default 100). */
  n?: number;
  /** Queries per example, the original included (default unlimited). */
  queryBudget?: number;
  seed?: number;
  /** GloVe-format word vectors for textfooler (default: the model's own input embeddings). */
  wordVectors?: string;
  maxLength?: number;
  batchSize?: number;
  /** Per-example records kept in results.json (default 50). */
  examples?: number;
  /** A ready victim (e.g. the black-box ONNX one) instead of loading `model` as a Parry encoder. */
  victim?: TextVictim;
}

/** The recipes and the components they are made of, for `parry list`. */
export function listTextAttackComponents(): TextComponentInfo[] {
  return textComponentInfo();
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Run a text-attack recipe against a text model and write results.json. */
export async function textAttackCommand(o: TextAttackCommandOptions): Promise<Results> {
  const n = o.n ?? 100;
  if (!(Number.isInteger(n) && n > 0)) throw new UsageError(`--n must be a positive integer, got ${o.n}`);
  guardOutput(o.out, { kind: 'results', force: o.force, protect: [{ path: fs.existsSync(o.model) ? o.model : undefined, flag: '--model' }, { path: o.data, flag: '--data' }, { path: o.dev, flag: '--dev' }] });
  const info = readTrainingInfo(o.model, { withData: !o.data });
  const spec: TextDataSpec | undefined = o.data ? ({ ...o } as TextDataSpec) : info.data;
  if (!spec) throw new UsageError(`--data is needed: ${o.model} has no parry_training.json naming its data`);
  const ds = loadTextSplit(spec, o.split);
  if (ds.examples.some((e) => e.pair !== undefined)) throw new UsageError(`--data ${ds.source}: text-pair data sets cannot be attacked yet; use single texts`);
  const examples = ds.examples.slice(0, n).map((e) => ({ text: e.text, label: e.label, labels: e.labels }));
  const backend = await setupBackend(o.backend);
  const pre = o.victim ? undefined : await loadPretrained(o.model, hubFlags(o));
  try {
    let victim = o.victim;
    if (!victim) {
      if (!pre!.tokenizer) throw new InputError(`${o.model} has no tokenizer files (tokenizer.json or vocab.txt)`);
      const maxLength = o.maxLength ?? info.maxLength ?? Math.min(pre!.config.maxPositions, 512);
      victim = parryVictim(pre!.model, pre!.tokenizer, { maxLength, batchSize: o.batchSize ?? 32, name: o.model });
    }
    if (victim.labelNames.length !== ds.labelNames.length) {
      throw new InputError(`${o.model} has ${victim.labelNames.length} labels but ${ds.source} has ${ds.labelNames.length}; attack it with its own data`);
    }
    const recipe = o.attack.replace(/^parry\//, '');
    let vectors: WordVectors | undefined;
    if (o.wordVectors) vectors = loadWordVectors(o.wordVectors);
    else if ((recipe === 'textfooler' || recipe === 'hotflip') && pre) vectors = await modelWordVectors(pre.model, pre.tokenizer!);
    const wordnet = recipe === 'pwws' ? createWordNet() : undefined;
    const attack = textRecipe(recipe, { synonyms: wordnet ? (w) => edaSynonyms(w, wordnet) : undefined, vectors });
    if (!o.quiet) log(`${attack.name} on ${examples.length} ${o.split} examples of ${ds.name} against ${victim.name}, backend ${backend.name}`);
    const bar = createProgress(attack.name, examples.length, { quiet: o.quiet });
    const tally = { successful: 0, failed: 0, skipped: 0 };
    const { records, summary } = await runTextAttack(attack, victim, examples, {
      queryBudget: o.queryBudget,
      seed: o.seed ?? 0,
      onExample: (r, done) => {
        tally[r.status] += 1;
        bar.update(done, `${tally.successful} successful, ${tally.failed} failed, ${tally.skipped} skipped`);
      },
    });
    bar.stop();
    const keep = records.filter((r) => r.status !== 'skipped').slice(0, o.examples ?? 50);
    const name = (r: TextAttackRecord, key: 'originalPrediction' | 'perturbedPrediction') => r[key].join(', ') || '(none)';
    const gold = (r: TextAttackRecord) => (r.label !== undefined ? ds.labelNames[r.label] : (r.labels ?? []).map((j) => ds.labelNames[j]).join(', ') || '(none)');
    const results = writeResults(o.out, {
      ...resultsHeader('eval', o.argv, o.seed ?? 0),
      dataset: { name: ds.name, source: ds.source, split: o.split, n: examples.length },
      model: {
        path: o.model,
        name: victim.name,
        inputShape: [],
        numClasses: victim.labelNames.length,
        bounds: [0, 0],
        labelNames: victim.labelNames,
        outputKind: victim.multiLabel ? 'sigmoid' : 'softmax',
      },
      attacks: [
        {
          attack: `parry/${attack.name}`,
          norm: 'words',
          options: { ...(attack.options ?? {}), queryBudget: o.queryBudget ?? null, wordVectors: vectors?.source ?? null },
          cleanAccuracy: summary.originalAccuracy,
          n: summary.n,
          perEpsilon: [
            {
              epsilon: null,
              robustAccuracy: summary.accuracyUnderAttack,
              attackSuccessRate: summary.attackSuccessRate,
              linf: null,
              l2: null,
              ...(summary.multiLabel
                ? { perLabel: summary.multiLabel.perLabel.map((p) => ({ label: p.label, flipRate: p.flipRate, robustAccuracy: 1 - p.flipRate })) }
                : {}),
            },
          ],
          wallTimeMs: summary.wallSeconds * 1000,
          gradientEvaluations: summary.gradientCalls,
          forwardEvaluations: summary.totalQueries,
          successBits: [records.map((r) => (r.status === 'successful' ? '1' : '0')).join('')],
          textExamples: keep.map((r) => ({
            index: r.index,
            label: gold(r),
            prediction: name(r, 'originalPrediction'),
            original: r.original,
            perEpsilon: [{ epsilon: null, adversarial: r.perturbed, prediction: name(r, 'perturbedPrediction'), success: r.status === 'successful' }],
          })),
          textSummary: {
            successful: summary.successful,
            failed: summary.failed,
            skipped: summary.skipped,
            budgetExhausted: summary.budgetExhausted,
            originalAccuracy: summary.originalAccuracy,
            accuracyUnderAttack: summary.accuracyUnderAttack,
            attackSuccessRate: summary.attackSuccessRate,
            avgPerturbedWordPct: summary.avgPerturbedWordPct,
            avgWordsPerInput: summary.avgWordsPerInput,
            avgQueries: summary.avgQueries,
            totalQueries: summary.totalQueries,
            queriesPerSecond: summary.queriesPerSecond,
            notes: summary.notes,
            ...(summary.multiLabel ? { microF1Before: summary.multiLabel.microF1Before, microF1After: summary.multiLabel.microF1After } : {}),
          },
        },
      ],
    });
    if (o.json) out(JSON.stringify(results, null, 2));
    else {
      out(`${attack.name}: ${summary.successful} successful, ${summary.failed} failed, ${summary.skipped} skipped of ${summary.n}`);
      out(`  original accuracy ${pct(summary.originalAccuracy)}, accuracy under attack ${pct(summary.accuracyUnderAttack)}, success rate ${pct(summary.attackSuccessRate)}`);
      out(`  perturbed words ${summary.avgPerturbedWordPct.toFixed(1)}%, words per input ${summary.avgWordsPerInput.toFixed(1)}, queries per example ${summary.avgQueries.toFixed(1)}`);
      out(`  ${summary.totalQueries} queries in ${summary.wallSeconds.toFixed(1)} s (${summary.queriesPerSecond.toFixed(1)}/s); results in ${o.out}`);
      for (const note of summary.notes) out(`  note: ${note}`);
    }
    return results;
  } finally {
    pre?.model.dispose();
  }
}
