/**
 * `parry_training.json`, written next to a trained text model: the data it was trained on (so evaluation finds the
 * same dev and test data), its max length and truncation strategy, and the dev-tuned multi-label thresholds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, readOutputManifest, type TruncationStrategy, z } from '@parry/core';
import { isEmbeddedTextData, type TextDataSpec } from './text-data.js';

/** Written next to a trained text model: the data it was trained on and the dev-tuned thresholds. */
export const TRAINING_FILE = 'parry_training.json';

export interface TrainingInfo {
  data: TextDataSpec;
  maxLength: number;
  /** Which tokens of an over-long text the model was trained on (absent in files written before strategies: `head`). */
  truncation?: TruncationStrategy;
  /** Multi-label: per-label thresholds tuned on the dev split. */
  thresholds?: number[];
}

const trainingInfoSchema = z
  .object({
    data: z
      .object({
        data: z.string().min(1),
        format: z.enum(['auto', 'sst2', 'goemotions', 'spamassassin', 'csv', 'tsv', 'jsonl']).optional(),
        dev: z.string().min(1).optional(),
        test: z.string().min(1).optional(),
        textColumn: z.string().optional(),
        pairColumn: z.string().optional(),
        labelColumn: z.string().optional(),
        labelNames: z.string().optional(),
        multiLabel: z.boolean().optional(),
      })
      .strict(),
    maxLength: z.number().int().min(8).max(1_048_576),
    truncation: z.enum(['head', 'tail', 'head+tail']).optional(),
    thresholds: z.array(z.number().min(0).max(1)).max(100_000).optional(),
  })
  .strip();

const DATA_FILE = /\.(csv|tsv|tab|jsonl|ndjson|json)$/i;

/**
 * Read a model folder's `parry_training.json` (the data it was trained on, its max length and thresholds), or `{}`
 * when it has none. The data paths in it are used only when the folder is one Parry wrote (its output manifest lists
 * the file) and they name a dataset folder or a data file; a folder from elsewhere cannot make Parry read arbitrary
 * files. A malformed file is one `InputError` line naming it. `withData: false` (the caller has --data) skips the data.
 */
export function readTrainingInfo(dir: string, { withData = true }: { withData?: boolean } = {}): Partial<TrainingInfo> {
  const file = path.join(dir, TRAINING_FILE);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return {};
  }
  if (!st.isFile()) throw new InputError(`${file} is not a regular file; delete it or pass --data`);
  if (st.size > 1024 * 1024) throw new InputError(`${file} is ${st.size} bytes, too large for a training record; delete it or pass --data`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file} is not valid JSON (${(e as Error).message}); delete it or pass --data`);
  }
  const r = trainingInfoSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(`${file} is malformed at ${issue.path.join('.') || '(root)'}: ${issue.message}; delete it or pass --data`);
  }
  const info = r.data as TrainingInfo;
  if (!withData) return { ...info, data: undefined };
  const manifest = readOutputManifest(dir);
  const mine = manifest?.kind === 'text-model' && manifest.files.includes(TRAINING_FILE);
  for (const p of [info.data.data, info.data.dev, info.data.test]) {
    if (p === undefined || (p === info.data.data && isEmbeddedTextData(p))) continue; // an embedded corpus: a name, not a path
    if (!mine) throw new InputError(`${file} names data (${p}), but ${dir} was not written by this version of \`parry train\`; pass --data (and --dev, --test) explicitly`);
    let ok = false;
    try {
      const ps = fs.statSync(p);
      ok = ps.isDirectory() || (ps.isFile() && DATA_FILE.test(p));
    } catch {
      throw new InputError(`${file} names data ${p}, which is not there any more; pass --data`);
    }
    if (!ok) throw new InputError(`${file} names ${p}, which is not a dataset folder or a .csv/.tsv/.jsonl file; pass --data`);
  }
  return info;
}

/** The `parry_training.json` content for a model trained on `spec` (paths made absolute, embedded corpus names kept, unset fields left out). */
export function trainingInfoJson(spec: TextDataSpec, maxLength: number, thresholds?: number[], truncation?: TruncationStrategy): string {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(p));
  const full: TextDataSpec = { ...spec, data: isEmbeddedTextData(spec.data) ? spec.data : path.resolve(spec.data), dev: abs(spec.dev), test: abs(spec.test) };
  const keep: (keyof TextDataSpec)[] = ['data', 'format', 'dev', 'test', 'textColumn', 'pairColumn', 'labelColumn', 'labelNames', 'multiLabel'];
  const data = Object.fromEntries(keep.filter((k) => full[k] != null).map((k) => [k, full[k]])) as unknown as TextDataSpec;
  const info: TrainingInfo = { data, maxLength, ...(truncation ? { truncation } : {}), thresholds };
  return `${JSON.stringify(info, null, 2)}\n`;
}
