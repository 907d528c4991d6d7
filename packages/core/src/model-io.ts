import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { decodeUtf8, readInputBytes } from './bounded-read.js';
import { InputError, ParryError } from './errors.js';
import { recoverInterrupted } from './fs-atomic.js';
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

/** Largest metadata file read (`parry.json`, `model.json`): far above any real topology, far below a blow-up. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * A file of the model folder through the one bounded reader: a regular file of at most `maxBytes` (never a device,
 * FIFO or directory), every problem one InputError naming it.
 */
function readModelFile(file: string, what: string, maxBytes: number, tooLarge = { limitFor: what, fix: 'train or copy the model again' }): Buffer {
  return readInputBytes(file, `${what} ${file}`, 'a file written by `parry train`', maxBytes, {
    notFound: 'the model directory is incomplete, train or copy it again',
    directory: () => new InputError(`${what} ${file} is not a regular file (a directory); train or copy the model again`),
    tooLarge,
  });
}

function readJson(file: string, what: string): unknown {
  const text = decodeUtf8(readModelFile(file, what, MAX_JSON_BYTES), file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${what} ${file} is corrupt (${(e as Error).message}); train or copy the model again`);
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 };

/** tfjs keeps a tensor's size in an int32: no weight can have more elements than this. */
const MAX_ELEMENTS = 2 ** 31 - 1;
const dimension = z.number().int().min(0).max(MAX_ELEMENTS);
const finite = z.number();

/** `parry.json` as `saveModel` writes it. Claims about the network are checked against model.json after the build. */
const metaSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.number().int().min(1),
  name: z.string().max(1000),
  inputShape: z.array(z.number().int().min(1).max(MAX_ELEMENTS)).min(1).max(8),
  numClasses: z.number().int().min(1).max(MAX_ELEMENTS),
  bounds: z.tuple([finite, finite]).refine(([lo, hi]) => lo < hi, 'must be [lower, upper] with lower < upper'),
  outputKind: z.enum(['single-label', 'multi-label']).default('single-label'),
  labelNames: z.array(z.string()).optional(),
  weightsSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
  createdAt: z.string(),
  training: z.record(z.string(), z.unknown()).optional(),
});

/** One weight of the manifest: a name, a shape of non-negative integers with at most 2^31-1 elements, a dtype tfjs loads. */
const weightSpecSchema = z
  .strictObject({
    name: z.string().min(1),
    shape: z.array(dimension).max(8),
    dtype: z.enum(['float32', 'int32', 'bool']),
  })
  .refine((w) => w.shape.reduce((a, b) => a * b, 1) <= MAX_ELEMENTS, { message: `has more than ${MAX_ELEMENTS} elements`, path: ['shape'] });

/** `model.json` as `saveModel` writes it: a topology and one weights group stored in `weights.bin`. */
const modelJsonSchema = z.object({
  modelTopology: z.looseObject({}),
  weightsManifest: z
    .array(z.object({ paths: z.tuple([z.literal('weights.bin')]), weights: z.array(weightSpecSchema) }))
    .length(1),
});

/** `bounds[0]`, `weightsManifest[0].weights[3].shape` ... (the file itself when the path is empty). */
function fieldOf(p: readonly PropertyKey[]): string {
  return p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}

/** Parse with `schema` or throw one InputError naming the file and the first wrong field. */
function validated<T>(schema: z.ZodType<T>, value: unknown, file: string, what: string): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(`${what} ${file} is not an object (${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}); train or copy the model again`);
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = fieldOf(issue.path) || 'the file';
  const message = issue.message.replace(/^Invalid input: /, '').split('\n')[0];
  throw new InputError(`${what} ${file} is invalid: ${field} ${message}; fix that field or train or copy the model again`);
}

const sameShape = (claimed: readonly number[], actual: readonly (number | null)[]): boolean =>
  claimed.length === actual.length && claimed.every((d, i) => actual[i] === null || actual[i] === d);

/** What a model being built may still allocate: no weight larger than the manifest's largest, none beyond its total. */
interface WeightBudget {
  file: string;
  max: number;
  left: number;
}
const BUDGETS = new Map<number, WeightBudget>();
let nextBudget = 0;
const CHECKED_INIT = 'ParryCheckedZeros';
let checkedInitRegistered = false;

/**
 * A zeros initializer (the loaded weights overwrite it) that refuses, before allocating, a weight larger than any in
 * the manifest or beyond the manifest's total: a topology edited to `units: 4000000` fails here, not after 1.6 GB.
 */
function registerCheckedInit(): void {
  if (checkedInitRegistered) return;
  const Zeros = tfl.initializers.zeros().constructor as new () => { apply(shape: number[], dtype?: tf.DataType): tf.Tensor };
  class CheckedZeros extends Zeros {
    static className = CHECKED_INIT;
    readonly load: number;
    constructor(config: { load?: number } = {}) {
      super();
      this.load = config.load ?? -1;
    }
    override apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
      const b = BUDGETS.get(this.load);
      const n = shape.reduce((a, d) => a * d, 1);
      if (b) {
        if (n > b.max) throw new InputError(`model topology ${b.file} is invalid: a layer needs a weight of shape [${shape}], larger than any weight in weightsManifest; train or copy the model again`);
        if (n > b.left) throw new InputError(`model topology ${b.file} is invalid: its layers need more weights than weightsManifest holds; train or copy the model again`);
        b.left -= n;
      }
      return super.apply(shape, dtype);
    }
    getConfig(): tf.serialization.ConfigDict {
      return { load: this.load };
    }
  }
  tf.serialization.registerClass(CheckedZeros as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  checkedInitRegistered = true;
}

/** A deep copy of a Keras topology with every `*_initializer` replaced by the checked zeros of budget `load`. */
function withCheckedInitializers(v: unknown, load: number): unknown {
  if (Array.isArray(v)) return v.map((x) => withCheckedInitializers(x, load));
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, /_initializer$/.test(k) && x !== null && typeof x === 'object' ? { class_name: CHECKED_INIT, config: { load } } : withCheckedInitializers(x, load)]),
  );
}

/**
 * Build the network of model.json and load weights.bin into it, strictly (every weight of the network in the manifest
 * with the same shape, and no other). Weights are allocated only within the manifest's sizes; anything wrong is one
 * InputError naming model.json, with nothing left allocated.
 */
async function buildModel(dir: string, topologyFile: string, topology: unknown, specs: tf.io.WeightsManifestEntry[], weights: Buffer): Promise<tfl.LayersModel> {
  const sizes = specs.map((w) => w.shape.reduce((a, b) => a * b, 1));
  const load = nextBudget++;
  BUDGETS.set(load, { file: topologyFile, max: Math.max(0, ...sizes), left: sizes.reduce((a, b) => a + b, 0) });
  registerCheckedInit();
  const variablesBefore = new Set(Object.keys(tf.engine().registeredVariables));
  let model: tfl.LayersModel | undefined;
  try {
    model = (await tfl.models.modelFromJSON({ modelTopology: withCheckedInitializers(topology, load) as tf.io.ModelJSON['modelTopology'] })) as tfl.LayersModel;
    const buf = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
    const decoded = tf.io.decodeWeights(buf, specs);
    try {
      model.loadWeights(decoded, true);
    } finally {
      tf.dispose(Object.values(decoded));
    }
    return model;
  } catch (e) {
    model?.dispose();
    // a layer that failed half-way leaves its variables registered: drop them
    for (const [name, v] of Object.entries(tf.engine().registeredVariables)) if (!variablesBefore.has(name)) v.dispose();
    if (e instanceof InputError) throw e;
    throw new InputError(`model ${dir} could not be built from model.json: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    BUDGETS.delete(load);
  }
}

export interface LoadedModel {
  classifier: Classifier;
  layersModel: tfl.LayersModel;
  meta: ModelMeta;
}

/**
 * Load a model saved by `saveModel`. One validator for the whole folder: `parry.json` and `model.json` are checked
 * against their schemas, `weights.bin` must be a regular file of exactly the manifest's size (checked before it is
 * read) with parry.json's checksum, and parry.json's claims (input shape, classes, label names) must agree with the
 * network built from model.json + weights, which is the truth. Every problem is an `InputError`: one line naming the
 * file and the field.
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  if (!fs.existsSync(dir)) throw new InputError(`model ${dir} not found; train one with \`parry train --out ${dir}\``);
  if (!fs.statSync(dir).isDirectory()) throw new InputError(`model ${dir} is a file; pass the model directory written by \`parry train\``);
  const metaFile = path.join(dir, 'parry.json');
  const rawMeta = readJson(metaFile, 'model metadata') as Record<string, unknown> | null;
  if (rawMeta && typeof rawMeta === 'object' && !Array.isArray(rawMeta)) {
    if (rawMeta.format !== MODEL_FORMAT) throw new InputError(`model metadata ${metaFile} is not a Parry model (format ${JSON.stringify(rawMeta.format)})`);
    if (typeof rawMeta.version === 'number' && rawMeta.version > MODEL_FORMAT_VERSION) {
      throw new InputError(`model metadata ${metaFile} has format version ${rawMeta.version}, this Parry reads up to ${MODEL_FORMAT_VERSION}; upgrade Parry`);
    }
  }
  const meta = validated(metaSchema, rawMeta, metaFile, 'model metadata') as ModelMeta;
  const topologyFile = path.join(dir, 'model.json');
  const modelJson = validated(modelJsonSchema, readJson(topologyFile, 'model topology'), topologyFile, 'model topology');
  const specs = modelJson.weightsManifest[0].weights as tf.io.WeightsManifestEntry[];
  const weightsFile = path.join(dir, 'weights.bin');
  const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[w.dtype], 0);
  // larger than the manifest says: refused before it is read; smaller: refused after
  const weights = readModelFile(weightsFile, 'model weights', expected, { limitFor: `the ${expected} bytes model.json's manifest describes`, fix: 'the weights are corrupt, train or copy the model again' });
  if (weights.length !== expected) {
    throw new InputError(`model weights ${weightsFile} are corrupt: ${weights.length} bytes, the manifest expects ${expected}`);
  }
  const sha = createHash('sha256').update(weights).digest('hex');
  if (sha !== meta.weightsSha256) throw new InputError(`model weights ${weightsFile} are corrupt: checksum does not match parry.json`);
  const layersModel = await buildModel(dir, topologyFile, modelJson.modelTopology, specs, weights);
  try {
    const inShape = layersModel.inputs[0].shape.slice(1);
    const outShape = layersModel.outputs[0].shape;
    const classes = outShape[outShape.length - 1];
    const contradiction = (field: string, claimed: unknown, actual: unknown) =>
      new InputError(`model metadata ${metaFile} is invalid: ${field} ${JSON.stringify(claimed)} contradicts model.json (${JSON.stringify(actual)}); correct parry.json or train the model again`);
    if (!sameShape(meta.inputShape, inShape)) throw contradiction('inputShape', meta.inputShape, inShape);
    if (classes !== null && meta.numClasses !== classes) throw contradiction('numClasses', meta.numClasses, classes);
    if (meta.labelNames && meta.labelNames.length !== meta.numClasses) {
      throw new InputError(`model metadata ${metaFile} is invalid: labelNames has ${meta.labelNames.length} names for ${meta.numClasses} classes; correct parry.json or train the model again`);
    }
    const classifier = fromLayersModel(layersModel, { name: meta.name, bounds: meta.bounds, outputKind: meta.outputKind, labelNames: meta.labelNames });
    return { classifier, layersModel, meta };
  } catch (e) {
    layersModel.dispose();
    throw e;
  }
}
