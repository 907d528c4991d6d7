import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  type ImageAttackPlugin,
  disposeAttackResult,
  guardOutput,
  loadModel,
  logitsInBatches,
  runAttack,
  untargeted,
  validateEpsilons,
} from '@parry/core';
import { toTensors } from '@parry/datasets';
import { type AttackSummary, correctMask, reportDetails, summarizeAttack, writeResults, type Results } from '@parry/metrics';
import Table from 'cli-table3';
import { log, out, resultsHeader, setupBackend } from '../context.js';
import { type DatasetRef, loadDataset } from '../data.js';
import { pluginOptions } from '../option-pairs.js';
import { pluginRegistry } from '../plugins.js';
import { createProgress } from '../progress.js';
import { pct } from './train.js';

export interface EvalCommandOptions {
  model: string;
  attacks: string[];
  epsilons: number[];
  n: number;
  seed: number;
  batchSize: number;
  out: string;
  data?: string;
  opt?: string[];
  /** Replace `out` even when it exists and is not a Parry results file. */
  force?: boolean;
  /** Plugin modules to load (`--plugin`, repeatable); a `parry.config.mjs` in the working directory is loaded too. */
  plugin?: string[];
  backend?: string;
  json?: boolean;
  quiet?: boolean;
  argv?: string[];
}

/**
 * Evaluate a saved model: clean accuracy, then every attack at every epsilon on the held-out examples.
 * All inputs are checked before anything runs; results are written once, atomically, at the end.
 */
export async function evalCommand(o: EvalCommandOptions): Promise<Results> {
  // 1. validate everything that does not need the model (no work, no files before this passes)
  const epsilons = validateEpsilons(o.epsilons, true);
  guardOutput(o.out, { kind: 'results', force: o.force, protect: [{ path: o.model, flag: '--model' }, { path: o.data, flag: '--data' }] });
  const { registry, defaults } = await pluginRegistry({ plugin: o.plugin });
  const listed = o.attacks.map((name) => registry.resolve(name, 'attack'));
  const attackOptions = pluginOptions(registry, o.opt ?? [], { flag: '--opt', listFlag: '--attack', kind: 'attack', listed, example: 'pgd.steps=10' });
  const attacks: ImageAttackPlugin[] = listed.map((full) => registry.create<ImageAttackPlugin>(full, { ...(defaults[full] ?? {}), ...(attackOptions.get(full) ?? {}) }, 'attack'));
  const backend = await setupBackend(o.backend);
  const { classifier, meta } = await loadModel(o.model);
  const training = (meta.training ?? {}) as { dataset?: DatasetRef };
  const ref: DatasetRef = o.data ? { kind: 'mnist-idx', dir: path.resolve(o.data) } : (training.dataset ?? { kind: 'embedded-mnist', seed: 0, testFraction: 0.2 });
  const dataset = loadDataset(ref);
  const n = Math.min(o.n, dataset.test.n);
  const { x, y } = toTensors(dataset.test, 0, n);
  if (!o.quiet) log(`evaluating ${meta.name} on ${n} held-out ${dataset.name} digits, backend ${backend.name}, seed ${o.seed}`);
  try {
    const logits = logitsInBatches(classifier, x, o.batchSize);
    const cleanCorrect = await correctMask(logits, y);
    logits.dispose();
    const cleanAccuracy = cleanCorrect.filter(Boolean).length / n;
    if (!o.quiet) log(`clean accuracy ${pct(cleanAccuracy)}`);
    const summaries: AttackSummary[] = [];
    for (const attack of attacks) {
      const bar = createProgress(`${attack.name}`, n, { quiet: o.quiet });
      const result = await runAttack(attack, classifier, x, untargeted(y), {
        epsilons,
        seed: o.seed,
        batchSize: o.batchSize,
        onBatch: (done) => bar.update(done),
      });
      try {
        const summary = await summarizeAttack(x, cleanCorrect, result);
        const bits = await Promise.all(result.perEpsilon.map(async (e) => Array.from(await e.success.data()).map((v) => (v ? '1' : '0')).join('')));
        const details = await reportDetails(summary, classifier, x, y, cleanCorrect, result, { examples: 8 }); // sizes + image grid for `parry report`
        summaries.push({ ...summary, ...details, successBits: bits } as AttackSummary);
        bar.stop(`${attack.name}: done in ${(result.wallTimeMs / 1000).toFixed(1)} s`);
      } finally {
        disposeAttackResult(result);
      }
    }
    const results = writeResults(o.out, {
      ...resultsHeader('eval', o.argv, o.seed),
      dataset: { name: dataset.name, source: dataset.source, split: 'test', n },
      model: { path: o.model, name: meta.name, inputShape: meta.inputShape, numClasses: meta.numClasses, bounds: meta.bounds },
      clean: { accuracy: cleanAccuracy, n },
      attacks: summaries.map((s) => ({ ...s, perEpsilon: s.perEpsilon.map((e) => ({ ...e, epsilon: Number.isFinite(e.epsilon) ? e.epsilon : null })) })),
    });
    if (o.json) out(JSON.stringify(results, null, 2));
    else {
      out(renderTable(cleanAccuracy, summaries));
      for (const line of renderStages(summaries)) out(line);
      out(`results written to ${o.out}`);
    }
    return results;
  } finally {
    tf.dispose([x, y]);
    classifier.dispose?.();
  }
}

/** The robustness table printed by `parry eval`. */
export function renderTable(cleanAccuracy: number, summaries: AttackSummary[]): string {
  const table = new Table({
    head: ['attack', 'norm', 'eps', 'clean acc', 'robust acc', 'success rate', 'mean Linf', 'mean L2', 'grad evals', 'seconds'],
    style: { head: [], border: [] },
  });
  for (const s of summaries) {
    for (const e of s.perEpsilon) {
      table.push([
        s.attack,
        s.norm,
        String(e.epsilon),
        pct(cleanAccuracy),
        pct(e.robustAccuracy),
        pct(e.attackSuccessRate),
        e.linf ? e.linf.mean.toFixed(4) : '-',
        e.l2 ? e.l2.mean.toFixed(3) : '-',
        String(s.gradientEvaluations),
        (s.wallTimeMs / 1000).toFixed(1),
      ]);
    }
  }
  return table.toString();
}

/** One line per epsilon of each composed attack: robust accuracy after every stage (AutoAttack's report). */
export function renderStages(summaries: AttackSummary[]): string[] {
  return summaries.flatMap((s) =>
    s.perEpsilon
      .filter((e) => e.stages?.length)
      .map((e) => `${s.attack} eps ${e.epsilon}: ${e.stages!.map((st) => `${st.label} ${pct(st.robustAccuracy)}`).join(' -> ')}`),
  );
}
