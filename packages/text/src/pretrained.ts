/**
 * Hugging Face model folders in and out: `loadPretrained` (a local folder or a Hub id, through the download cache)
 * and `savePretrained` (config.json, model.safetensors and the tokenizer files, written atomically), with the HF
 * parameter names so that a folder saved here loads in Python `transformers` and a Hub folder loads here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, ParryError } from '@parry/core';
import { recoverInterrupted } from '@parry/core';
import { type GuardOptions, writeOutputDir } from '@parry/core';
import { type EncoderConfig, toHfConfig, validateConfig } from './config.js';
import { readFolderConfig } from './folder-config.js';
import { createTransformerClassifier, parameterShapes, type TransformerClassifier } from './encoder.js';
import { type HubOptions, resolveModelSource } from './hub.js';
import { isMaskedLmHeadName, MASKED_LM_ARCHITECTURES } from './mlm.js';
import { openSafetensorsFile, serializeSafetensors } from './safetensors.js';
import { loadTokenizer } from './tokenizer.js';
import type { HostTensor, OutputKind, SafetensorsDtype, TextTokenizer } from '@parry/core';

export interface LoadPretrainedOptions extends HubOptions {
  /** Replace the label set (a new classification head is initialised when it differs from the checkpoint's). */
  labelNames?: string[];
  outputKind?: OutputKind;
  /** Seed of any newly initialised weights (default 0). */
  seed?: number;
  /**
   * Accept a checkpoint without classification-head weights and initialise a fresh head (fine-tuning a base
   * checkpoint). Without it such a checkpoint is refused: a random head would predict noise. A new label set
   * (`labelNames` that differ from the checkpoint's) always gets a fresh head.
   */
  newHead?: boolean;
  /**
   * Every dropout rate of the model (hidden, attention, classifier) for fine-tuning, replacing the checkpoint's
   * config values (as `hidden_dropout_prob=...` does in `from_pretrained`); weights are unaffected.
   */
  dropout?: number;
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
  /**
   * Lines for the user about how the classifier was initialised, e.g. that its encoder comes from a masked-LM
   * checkpoint whose head was left out and that the classification head is new (the CLI prints them).
   */
  notes: string[];
}

/** Parameters a base (not fine-tuned) checkpoint may lack: they belong to the classification head or pooler. */
const HEAD_PARAM = /^(classifier\.|pre_classifier\.|bert\.pooler\.)/;

const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F32', 'F16', 'BF16', 'F64']);

const FILE_NAMES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'special_tokens_map.json'] as const;

/**
 * Load a sequence classifier from a local Hugging Face folder or a Hub id (`org/name`, downloaded once into the
 * cache; see {@link resolveModelSource} for offline mode and resume). A checkpoint whose labels differ from
 * `labelNames`, or one without a classification head when `newHead` is set, gets a freshly initialised head (listed in
 * `newlyInitialized`); a checkpoint without head weights is otherwise refused, and missing encoder weights are an
 * error. The config is validated ({@link validateConfig}) and every tensor's dtype and shape checked against the
 * `model.safetensors` header before any weight is read or allocated; NaN or infinite weights are refused.
 * Checkpoints saved from the bare encoder (names without the `bert.` / `roberta.` ... prefix) are accepted. `.bin`
 * (pickle) weights are refused.
 */
export async function loadPretrained(source: string, options: LoadPretrainedOptions = {}): Promise<Pretrained> {
  const resolved = await resolveModelSource(source, options);
  const dir = resolved.dir;
  const { configFile, json, config: original } = readFolderConfig(dir);
  let config = original;
  const relabel = options.labelNames && options.labelNames.join('\u0000') !== original.labelNames.join('\u0000');
  if (relabel || (options.outputKind && options.outputKind !== original.outputKind)) {
    const labelNames = options.labelNames ?? original.labelNames;
    config = { ...original, labelNames, numLabels: labelNames.length, outputKind: options.outputKind ?? original.outputKind };
    validateConfig(config, { source: 'options' });
  }
  if (options.dropout !== undefined) {
    config = { ...config, hiddenDropout: options.dropout, attentionDropout: options.dropout, classifierDropout: options.dropout };
    validateConfig(config, { source: 'options' });
  }
  const weightsFile = path.join(dir, 'model.safetensors');
  // Everything is checked against the header before any weight is read or any tensor allocated.
  const file = openSafetensorsFile(weightsFile);
  let missing: string[];
  const ignored: string[] = [];
  const notes: string[] = [];
  /** [name in the file, name as loaded] of each tensor to load. */
  const picked: Array<[string, string]> = [];
  try {
    const prefix = `${config.family}.`;
    const names = Object.keys(file.tensors);
    const hasPrefix = names.some((k) => k.startsWith(prefix));
    const wanted = parameterShapes(config);
    const headChanged = relabel || config.numLabels !== original.numLabels;
    const present = new Set<string>();
    for (const key of names) {
      const k = hasPrefix || HEAD_PARAM.test(key) ? key : prefix + key;
      const isHead = /^(classifier\.|pre_classifier\.)/.test(k);
      const name = modernName(k);
      const shape = wanted.get(name);
      if (shape && !(headChanged && isHead)) {
        const t = file.tensors[key];
        if (!FLOAT_DTYPES.has(t.dtype)) {
          throw new InputError(`${weightsFile}: tensor "${key}" has dtype ${t.dtype}, not a float type; check that config.json matches the checkpoint`);
        }
        if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
          throw new InputError(
            `${weightsFile}: tensor "${key}" has shape [${t.shape.join(', ')}] but config.json needs [${shape.join(', ')}]; check that config.json is from the same checkpoint`,
          );
        }
        picked.push([key, k]);
        present.add(name);
      } else if (!/position_ids$|token_type_ids$/.test(k)) ignored.push(key);
    }
    missing = [...wanted.keys()].filter((k) => !present.has(k));
    const missingEncoder = missing.filter((k) => !HEAD_PARAM.test(k));
    if (missingEncoder.length > 0) {
      throw new InputError(
        `${weightsFile} lacks ${missingEncoder.length} encoder weight(s) of a ${config.family} model (e.g. ${missingEncoder.slice(0, 3).join(', ')}); is config.json from the same checkpoint?`,
      );
    }
    const missingHead = missing.filter((k) => HEAD_PARAM.test(k)).sort();
    // A masked-LM checkpoint (`*ForMaskedLM`, or the family's MLM head among the tensors): the encoder is reused.
    const archs = Array.isArray(json.architectures) ? json.architectures.filter((a): a is string => typeof a === 'string') : [];
    const hasMlmHead = ignored.some((k) => isMaskedLmHeadName(config.family, k));
    const mlmArch = archs.find((a) => a.endsWith('ForMaskedLM')) ?? (hasMlmHead ? (archs[0] ?? MASKED_LM_ARCHITECTURES[config.family]) : undefined);
    if (mlmArch && missingHead.length > 0) {
      if (!headChanged && !options.newHead) {
        throw new InputError(
          `${dir} is a masked-LM checkpoint (${mlmArch}): it has no classification head (${missingHead.join(', ')}); fine-tune it first (parry train --model ${source}) or ask for a fresh head (newHead: true)`,
        );
      }
      const mlmHead = ignored.filter((k) => isMaskedLmHeadName(config.family, k));
      notes.push(
        `encoder from the masked-LM checkpoint ${source} (${mlmArch}); its masked-LM head (${mlmHead.length} tensors) is not used and the classification head (${missingHead.join(', ')}) is newly initialised`,
      );
    }
    if (missingHead.length > 0 && !headChanged && !options.newHead) {
      const arch = Array.isArray(json.architectures) ? json.architectures.find((a) => typeof a === 'string' && a.endsWith('ForSequenceClassification')) : undefined;
      throw new InputError(
        typeof arch === 'string'
          ? `${configFile} says ${arch} but ${weightsFile} has no ${missingHead.join(', ')}; the folder is incomplete: re-save or re-download it (a random head would give meaningless predictions)`
          : `${weightsFile} has no classification head (${missingHead.join(', ')}): it is a base checkpoint; fine-tune it first (parry train --model ${source}) or ask for a fresh head (newHead: true)`,
      );
    }
  } catch (e) {
    file.close();
    throw e;
  }
  let model: TransformerClassifier | undefined;
  try {
    model = createTransformerClassifier(config, { seed: options.seed ?? 0 });
    // One tensor at a time from the file into the model: host memory holds one tensor, not a second copy of the weights.
    for (const [key, k] of picked) model.loadStateDict({ [k]: file.read([key])[key] }, { strict: false, source: weightsFile });
    file.close();
    const tokenizer = FILE_NAMES.some((f) => fs.existsSync(path.join(dir, f))) ? await loadTokenizer(dir) : undefined;
    return { model, tokenizer, config, dir, newlyInitialized: missing, ignored, notes };
  } catch (e) {
    file.close();
    model?.dispose();
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
