import { type EvaluateTextOptions, evaluateTextModel, type EvaluateTextOutcome, truncationLine } from '@parry/pipelines';
import type { MultiLabelMetrics } from '@parry/metrics';
import Table from 'cli-table3';
import { hooks, out, pluginsFrom } from '../context.js';

export const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const pct1 = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The per-label table of multi-label metrics. */
export function printMultiLabel(m: MultiLabelMetrics, title: string): void {
  out(`${title}: micro-F1 ${m.microF1.toFixed(3)}, macro-F1 ${m.macroF1.toFixed(3)}, subset accuracy ${pct(m.subsetAccuracy)}, hamming loss ${m.hammingLoss.toFixed(4)}`);
  const table = new Table({ head: ['label', 'support', 'threshold', 'precision', 'recall', 'F1'], style: { head: [], border: [] } });
  for (const l of m.perLabel) table.push([l.label, l.support, l.threshold.toFixed(2), l.precision.toFixed(3), l.recall.toFixed(3), l.f1.toFixed(3)]);
  out(table.toString());
}

export interface TextEvalCommandOptions extends Omit<EvaluateTextOptions, 'log' | 'progress' | 'plugins' | 'registry' | 'out'> {
  out: string;
  plugin?: string[];
  json?: boolean;
  quiet?: boolean;
}

/** `parry eval --model <text model> [--attack <recipes>]`: clean metrics on a split, then each text attack; prints a summary. */
export async function evalTextCommand(o: TextEvalCommandOptions): Promise<EvaluateTextOutcome> {
  const r = await evaluateTextModel({ ...o, ...pluginsFrom(o.plugin), ...hooks(o.quiet) });
  if (o.json) {
    out(JSON.stringify(r.results, null, 2));
    return r;
  }
  const of = `${r.n} ${r.split} examples of ${r.source}`;
  if (r.clean?.multi) printMultiLabel(r.clean.multi, `${r.split} (${r.n} examples of ${r.source})${r.thresholds ? ' (thresholds tuned on dev at training)' : ' (threshold 0.5)'}`);
  else if (r.clean?.single) out(`${r.split} accuracy ${pct(r.clean.single.accuracy)} (macro-F1 ${r.clean.single.macroF1.toFixed(3)}) on ${of}`);
  if (r.truncation) out(truncationLine(r.truncation));
  for (const { summary } of r.attacks) {
    out(`${summary.attack}: ${summary.successful} successful, ${summary.failed} failed, ${summary.skipped} skipped of ${summary.n}`);
    out(`  original accuracy ${pct1(summary.originalAccuracy)}, accuracy under attack ${pct1(summary.accuracyUnderAttack)}, success rate ${pct1(summary.attackSuccessRate)}`);
    out(`  perturbed words ${summary.avgPerturbedWordPct.toFixed(1)}%, words per input ${summary.avgWordsPerInput.toFixed(1)}, queries per example ${summary.avgQueries.toFixed(1)}`);
    out(`  ${summary.totalQueries} queries in ${summary.wallSeconds.toFixed(1)} s (${summary.queriesPerSecond.toFixed(1)}/s)`);
    for (const note of summary.notes) out(`  note: ${note}`);
  }
  out(`results in ${o.out}`);
  return r;
}
