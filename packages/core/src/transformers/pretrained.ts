/**
 * Hugging Face model folders in and out: `loadPretrained` (a local folder or a Hub id, through the download cache)
 * and `savePretrained` (config.json, model.safetensors and the tokenizer files, written atomically), with the HF
 * parameter names so that a folder saved here loads in Python `transformers` and a Hub folder loads here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, ParryError } from '../errors.js';
import { recoverInterrupted } from '../fs-atomic.js';
import { type GuardOptions, writeOutputDir } from '../output-guard.js';
import { type EncoderConfig, parseHfConfig, toHfConfig } from './config.js';
import { createTransformerClassifier, type TransformerClassifier } from './encoder.js';
import { type HubOptions, resolveModelSource } from './hub.js';
import { readSafetensorsFile, serializeSafetensors } from './safetensors.js';
import { loadTokenizer } from './tokenizer.js';
import type { HostTensor, ProblemType, TextTokenizer } from './types.js';

export interface LoadPretrainedOptions extends HubOptions {
  /** Replace the label set (a new classification head is initialised when it differs from the checkpoint's). */
  labelNames?: string[];
  problemType?: ProblemType;
  /** Seed of any newly initialised weights (default 0). */
  seed?: number;
}

export interface Pretrained {
  model: TransformerClassifier;
  /** Absent when the folder has no tokenizer files. */
  tokenizer?: TextTokenizer;
  config: EncoderConfig;
  /** The local folder the files were read from (the cache snapshot for Hub ids). */
  dir: string;
  /** Parameters the checkpoint did not have (a new head), initialised fresh. */
  newlyInitialized: string[];
  /** Checkpoint tensors the classifier does not use (pre-training heads such as `cls.predictions.*`). */
  ignored: string[];
}

/** Parameters a base (not fine-tuned) checkpoint may lack: they belong to the classification head or pooler. */
const HEAD_PARAM = /^(classifier\.|pre_classifier\.|bert\.pooler\.)/;

const FILE_NAMES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'special_tokens_map.json'] as const;

/**
 * Load a sequence classifier from a local Hugging Face folder or a Hub id (`org/name`, downloaded once into the
 * cache; see {@link resolveModelSource} for offline mode and resume). A base checkpoint without a classification head,
 * or one whose labels differ from `labelNames`, gets a freshly initialised head (listed in `newlyInitialized`);
 * missing encoder weights are an error. Checkpoints saved from the bare encoder (names without the `bert.` /
 * `roberta.` ... prefix) are accepted. `.bin` (pickle) weights are refused.
 */
export async function loadPretrained(source: string, options: LoadPretrainedOptions = {}): Promise<Pretrained> {
  recoverInterrupted(source); // a save cut by kill -9 between its two renames is settled first
  const resolved = await resolveModelSource(source, options);
  const dir = resolved.dir;
  const configFile = path.join(dir, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  } catch (e) {
    throw new InputError(`${configFile} is not readable JSON (${(e as Error).message}); re-download the model or fix the file`);
  }
  const original = parseHfConfig(json, configFile);
  let config = original;
  const relabel = options.labelNames && options.labelNames.join('\u0000') !== original.labelNames.join('\u0000');
  if (relabel || (options.problemType && options.problemType !== original.problemType)) {
    const labelNames = options.labelNames ?? original.labelNames;
    config = { ...original, labelNames, numLabels: labelNames.length, problemType: options.problemType ?? original.problemType };
  }
  const { tensors } = readSafetensorsFile(path.join(dir, 'model.safetensors'));
  const model = createTransformerClassifier(config, { seed: options.seed ?? 0 });
  try {
    const prefix = `${config.family}.`;
    const hasPrefix = Object.keys(tensors).some((k) => k.startsWith(prefix));
    const wanted = new Set(model.parameters().map((p) => p.name));
    const headChanged = relabel || config.numLabels !== original.numLabels;
    const use: Record<string, HostTensor> = {};
    const ignored: string[] = [];
    const present = new Set<string>();
    for (const [key, t] of Object.entries(tensors)) {
      const k = hasPrefix || HEAD_PARAM.test(key) ? key : prefix + key;
      const isHead = /^(classifier\.|pre_classifier\.)/.test(k);
      const name = modernName(k);
      if (wanted.has(name) && !(headChanged && isHead)) {
        use[k] = t;
        present.add(name);
      } else if (!/position_ids$|token_type_ids$/.test(k)) ignored.push(key);
    }
    const missing = [...wanted].filter((k) => !present.has(k));
    const missingEncoder = missing.filter((k) => !HEAD_PARAM.test(k));
    if (missingEncoder.length > 0) {
      throw new InputError(
        `${path.join(dir, 'model.safetensors')} lacks ${missingEncoder.length} encoder weight(s) of a ${config.family} model (e.g. ${missingEncoder.slice(0, 3).join(', ')}); is config.json from the same checkpoint?`,
      );
    }
    model.loadStateDict(use, { strict: false, source: path.join(dir, 'model.safetensors') });
    const tokenizer = FILE_NAMES.some((f) => fs.existsSync(path.join(dir, f))) ? await loadTokenizer(dir) : undefined;
    return { model, tokenizer, config, dir, newlyInitialized: missing, ignored };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Old TF-converted checkpoints name LayerNorm parameters `gamma` / `beta`. */
function modernName(name: string): string {
  return name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

/**
 * Write a Hugging Face folder: `config.json` (with `architectures`, `id2label`, `problem_type`), `model.safetensors`
 * (float32, HF names and layouts, metadata `format: pt`) and the tokenizer's files; `extraFiles` are added as given.
 * The folder is replaced atomically: a crash leaves the old folder or the new one, never a mix. An existing `dir` is
 * replaced only when it is a Parry text model folder holding only Parry's files, or with `force` (`guardOutput`);
 * weights that are not finite are refused and nothing is written.
 */
export async function savePretrained(
  dir: string,
  model: TransformerClassifier,
  tokenizer?: TextTokenizer,
  extraFiles: Record<string, string | Uint8Array> = {},
  options: Pick<GuardOptions, 'force' | 'flag' | 'protect'> = {},
): Promise<void> {
  const state = model.stateDict();
  for (const [name, t] of Object.entries(state)) {
    if (!(t.data instanceof Float32Array)) continue;
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ParryError(`the trained weights are not finite (${name}[${bad}] = ${t.data[bad]}): training diverged, nothing was written to ${dir}; lower the learning rate (--lr)`, 1);
  }
  const weights = serializeSafetensors(state, { format: 'pt' });
  const config = `${JSON.stringify(toHfConfig(model.config), null, 2)}\n`;
  const tokenizerFiles = tokenizer?.toFiles() ?? {};
  await writeOutputDir(dir, { kind: 'text-model', ...options }, (tmp) => {
    fs.writeFileSync(path.join(tmp, 'config.json'), config);
    fs.writeFileSync(path.join(tmp, 'model.safetensors'), weights);
    for (const [name, text] of Object.entries({ ...tokenizerFiles, ...extraFiles })) fs.writeFileSync(path.join(tmp, name), text);
  });
}
