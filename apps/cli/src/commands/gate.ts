import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '@parry/core';
import { type GateVerdict, RobustnessGateError } from '@parry/metrics';
import { gateResults } from '@parry/pipelines';
import type { Command } from 'commander';
import { out, PLUGIN_LOADERS } from '../context.js';
import { wrap } from '../options.js';
import { parseRate } from '../parse.js';

export interface GateCommandOptions {
  results: string;
  baseline?: string;
  config?: string;
  maxDrop?: number;
  confidence?: number;
  /** Append the Markdown summary to this file (GitHub Actions: `$GITHUB_STEP_SUMMARY`). */
  summary?: string;
  json?: boolean;
}

/** The summary file must be none of the run's inputs (appending Markdown to a results.json would ruin it) and sit in an existing folder. */
function checkSummaryPath(summary: string, inputs: (string | undefined)[]): void {
  const abs = path.resolve(summary);
  const real = (p: string) => (fs.existsSync(p) ? fs.realpathSync(p) : p);
  for (const input of inputs) {
    if (input !== undefined && real(path.resolve(input)) === real(abs)) throw new UsageError(`--summary ${summary} is one of the gate's inputs; write the summary to another file (in CI: --summary "$GITHUB_STEP_SUMMARY")`);
  }
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new UsageError(`--summary ${summary} is a folder; pass a file to append the Markdown summary to`);
  const dir = path.dirname(abs);
  if (!fs.existsSync(dir)) throw new UsageError(`--summary ${summary}: folder ${dir} does not exist; create it or choose another file`);
}

/**
 * Gate a results file against a baseline and/or the thresholds of a config file: prints the Markdown summary (or the
 * verdict with --json), appends it to --summary, and throws a `RobustnessGateError` (exit 1) when the gate fails.
 */
export async function gateCommand(o: GateCommandOptions): Promise<GateVerdict> {
  if (o.summary !== undefined) checkSummaryPath(o.summary, [o.results, o.baseline, o.config]);
  const verdict = await gateResults(o.results, { baseline: o.baseline, config: o.config, maxDrop: o.maxDrop, confidence: o.confidence, loaders: PLUGIN_LOADERS });
  // appended, never replaced: $GITHUB_STEP_SUMMARY collects every step's summary in one file
  if (o.summary !== undefined) fs.appendFileSync(o.summary, `${verdict.markdown}\n`);
  out(o.json ? JSON.stringify(verdict) : verdict.markdown);
  if (!verdict.passed) throw new RobustnessGateError(verdict);
  return verdict;
}

/** The `parry gate` subcommand and its flags. */
export function registerGateCommand(program: Command, _argv: string[]): void {
  program
    .command('gate')
    .description('fail (exit 1) when a results.json is less robust than a baseline beyond noise, or misses the thresholds of parry.config.ts; prints a Markdown summary')
    .argument('<results>', 'results.json written by `parry eval` (the run to gate)')
    .option('--baseline <results>', "a baseline results.json of the same data and attacks (overrides the config's gate.baseline)")
    .option('--config <file>', 'a config file with a gate section: thresholds, maxDrop, confidence, baseline (e.g. parry.config.ts)')
    .option('--max-drop <rate>', "tolerated drop against the baseline, beyond sampling noise, e.g. 0.02 for 2 points (overrides gate.maxDrop; default 0)", wrap('--max-drop', parseRate))
    .option('--confidence <level>', 'two-sided confidence level of the intervals (default 0.95)', wrap('--confidence', parseRate))
    .option('--summary <file>', 'also append the Markdown summary to this file (in GitHub Actions: "$GITHUB_STEP_SUMMARY")')
    .option('--json', 'print the verdict as JSON instead of Markdown')
    .action(async (results: string, o) => {
      await gateCommand({ results, baseline: o.baseline, config: o.config, maxDrop: o.maxDrop, confidence: o.confidence, summary: o.summary, json: o.json });
    });
}
