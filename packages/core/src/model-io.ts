import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { InputError, ParryError } from './errors.js';
import { type GuardOptions, writeOutputDir } from './output-guard.js';
import { type Classifier, fromLayersModel, type OutputKind } from './model.js';

export const MODEL_FORMAT = 'parry-model';
export const MODEL_FORMAT_VERSION = 1;

/** What Parry stores next to the tfjs weights (`parry.json`). */
export interface ModelMeta {
  format: typeof MODEL_FORMAT;
  version: number;
  name: string;
  inputShape: number[];
  numClasses: number;
  bounds: [number, number];
  outputKind: OutputKind;
  labelNames?: string[];
  /** sha256 of weights.bin, checked on load. */
  weightsSha256: string;
  createdAt: string;
  /** Free-form facts about how it was trained (dataset, epochs, seed, accuracy ...). */
  training?: Record<string, unknown>;
}

export interface SaveModelOptions {
  bounds?: [number, number];
  outputKind?: OutputKind;
  labelNames?: string[];
  training?: Record<string, unknown>;
  /** More files written into the folder in the same atomic step (e.g. `train-results.json`): both appear or neither. */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Replace `dir` even when it is not a Parry model folder holding only Parry's files (see `guardOutput`). */
  force?: boolean;
  /** The flag that named `dir`, for messages (default `--out`). */
  flag?: string;
  /** Paths the run reads or writes elsewhere, which `dir` must neither be nor contain. */
  protect?: GuardOptions['protect'];
}

/** Throws when a float32 weight buffer holds NaN or Inf: a diverged model is never saved. */
function assertFinite(specs: tf.io.WeightsManifestEntry[], data: Buffer, dir: string): void {
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = n * (DTYPE_BYTES[spec.dtype] ?? 4);
    if (spec.dtype === 'float32') {
      const values = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + bytes));
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new ParryError(`the trained weights are not finite (${spec.name}[${bad}] = ${values[bad]}): training diverged, nothing was written to ${dir}; lower the learning rate (--lr)`, 1);
      }
    }
    offset += bytes;
  }
}

/**
 * Save a Parry-trained `LayersModel` to a directory (`model.json`, `weights.bin`, `parry.json`, `.parry-output.json`
 * and `extraFiles`), atomically: the directory appears complete or not at all. An existing `dir` is replaced only
 * when it is a Parry model folder holding only Parry's files, or with `force` (`guardOutput`); weights that are not
 * finite are refused and nothing is written.
 */
export async function saveModel(dir: string, model: tfl.LayersModel, options: SaveModelOptions = {}): Promise<ModelMeta> {
  let meta: ModelMeta | undefined;
  await writeOutputDir(dir, { kind: 'image-model', force: options.force, flag: options.flag, protect: options.protect }, async (tmp) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightData = artifacts.weightData
          ? Buffer.from(tf.io.concatenateArrayBuffers(Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData]))
          : Buffer.alloc(0);
        const modelJson = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        };
        fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
        assertFinite(artifacts.weightSpecs ?? [], weightData, dir);
        fs.writeFileSync(path.join(tmp, 'weights.bin'), weightData);
        const outShape = model.outputs[0].shape;
        meta = {
          format: MODEL_FORMAT,
          version: MODEL_FORMAT_VERSION,
          name: model.name,
          inputShape: model.inputs[0].shape.slice(1) as number[],
          numClasses: outShape[outShape.length - 1] as number,
          bounds: options.bounds ?? [0, 1],
          outputKind: options.outputKind ?? 'single-label',
          labelNames: options.labelNames,
          weightsSha256: createHash('sha256').update(weightData).digest('hex'),
          createdAt: new Date().toISOString(),
          training: options.training,
        };
        fs.writeFileSync(path.join(tmp, 'parry.json'), JSON.stringify(meta, null, 2));
        for (const [name, content] of Object.entries(options.extraFiles ?? {})) fs.writeFileSync(path.join(tmp, name), content);
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  });
  return meta!;
}

function readJson(file: string, what: string): any {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new InputError(`${what} ${file} is missing; the model directory is incomplete, train or copy it again`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${what} ${file} is corrupt (${(e as Error).message}); train or copy the model again`);
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 };

export interface LoadedModel {
  classifier: Classifier;
  layersModel: tfl.LayersModel;
  meta: ModelMeta;
}

/**
 * Load a model saved by `saveModel`. Every problem (missing directory, missing or corrupt file, size or checksum
 * mismatch) is an `InputError` with one line naming the file.
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  if (!fs.existsSync(dir)) throw new InputError(`model ${dir} not found; train one with \`parry train --out ${dir}\``);
  if (!fs.statSync(dir).isDirectory()) throw new InputError(`model ${dir} is a file; pass the model directory written by \`parry train\``);
  const meta = readJson(path.join(dir, 'parry.json'), 'model metadata') as ModelMeta;
  if (meta?.format !== MODEL_FORMAT) throw new InputError(`model metadata ${path.join(dir, 'parry.json')} is not a Parry model (format ${JSON.stringify(meta?.format)})`);
  if (meta.version > MODEL_FORMAT_VERSION) {
    throw new InputError(`model ${dir} has format version ${meta.version}, this Parry reads up to ${MODEL_FORMAT_VERSION}; upgrade Parry`);
  }
  const modelJson = readJson(path.join(dir, 'model.json'), 'model topology');
  const specs = modelJson?.weightsManifest?.[0]?.weights as tf.io.WeightsManifestEntry[] | undefined;
  if (!modelJson?.modelTopology || !Array.isArray(specs)) throw new InputError(`model topology ${path.join(dir, 'model.json')} is corrupt (no modelTopology or weightsManifest)`);
  const weightsFile = path.join(dir, 'weights.bin');
  if (!fs.existsSync(weightsFile)) throw new InputError(`model weights ${weightsFile} are missing; train or copy the model again`);
  const weights = fs.readFileSync(weightsFile);
  const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[w.dtype] ?? 4), 0);
  if (weights.length !== expected) {
    throw new InputError(`model weights ${weightsFile} are corrupt: ${weights.length} bytes, the manifest expects ${expected}`);
  }
  const sha = createHash('sha256').update(weights).digest('hex');
  if (sha !== meta.weightsSha256) throw new InputError(`model weights ${weightsFile} are corrupt: checksum does not match parry.json`);
  let layersModel: tfl.LayersModel;
  try {
    const buf = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
    layersModel = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData: buf }));
  } catch (e) {
    throw new InputError(`model ${dir} could not be built from model.json: ${(e as Error).message.split('\n')[0]}`);
  }
  const classifier = fromLayersModel(layersModel, { name: meta.name, bounds: meta.bounds, outputKind: meta.outputKind, labelNames: meta.labelNames });
  return { classifier, layersModel, meta };
}
