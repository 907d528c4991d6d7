/**
 * The encoder body every Parry Transformer model shares (internal: not exported from the package index): embeddings
 * (words, positions, token types, LayerNorm, ELECTRA's projection) and the post-LayerNorm layers, with the parameter
 * names and layouts of Hugging Face checkpoints, plus the weight bookkeeping (`parameters`, `stateDict`,
 * `loadStateDict`) that a head on top ({@link ./encoder.ts} classifiers, {@link ./mlm.ts} masked-LM heads) extends
 * with its own parameters.
 *
 * Linear weights are kept as `[in, out]` variables so every dense layer is a plain matMul (transposed matMuls are slow
 * on wasm); `stateDict` / `loadStateDict` convert to and from torch's `[out, in]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, InputError, UsageError } from '@parry/core';
import { type EncoderConfig, type HiddenActivation, usablePositions } from './config.js';
import { type Keeper, recomputeGrad } from './recompute.js';
import type { HostTensor, ModelFamily, TextBatch } from '@parry/core';

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Apply dropout (default false). */
  training?: boolean;
  /** Seed for the dropout masks (same seed, same masks); random masks when absent. */
  seed?: number;
}

/** A variable with its HF name; `linear` weights are stored `[in, out]` and saved transposed. */
export interface Param {
  name: string;
  variable: tf.Variable;
  linear: boolean;
  trainable: boolean;
}

export interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

export interface Norm {
  g: tf.Variable;
  b: tf.Variable;
}

interface Layer {
  q: Dense;
  k: Dense;
  v: Dense;
  o: Dense;
  ln1: Norm;
  ff1: Dense;
  ff2: Dense;
  ln2: Norm;
}

/** Additive attention bias for padded keys (exp underflows to exactly 0). */
const MASK_NEG = -1e9;

/** Checkpoint entries that are buffers, not parameters. */
const BUFFER_SUFFIXES = ['embeddings.position_ids', 'embeddings.token_type_ids'];

/**
 * The encoder parameters a config gives (no head), by HF name, with their HF (torch) shapes (Linear weights
 * `[out, in]`), in parameter order, added to `out`.
 */
export function encoderParameterShapes(c: EncoderConfig, out: Map<string, number[]>): Map<string, number[]> {
  const H = c.hiddenSize;
  const E = c.embeddingSize;
  const p = c.family;
  const dense = (name: string, inSize: number, outSize: number) => {
    out.set(`${name}.weight`, [outSize, inSize]);
    out.set(`${name}.bias`, [outSize]);
  };
  const norm = (name: string, size: number) => {
    out.set(`${name}.weight`, [size]);
    out.set(`${name}.bias`, [size]);
  };
  out.set(`${p}.embeddings.word_embeddings.weight`, [c.vocabSize, E]);
  if (!c.sinusoidalPosEmbds) out.set(`${p}.embeddings.position_embeddings.weight`, [c.maxPositions, E]);
  if (c.family !== 'distilbert') out.set(`${p}.embeddings.token_type_embeddings.weight`, [Math.max(1, c.typeVocabSize), E]);
  norm(`${p}.embeddings.LayerNorm`, E);
  if (c.family === 'electra' && E !== H) dense('electra.embeddings_project', E, H);
  for (let i = 0; i < c.numLayers; i++) {
    if (c.family === 'distilbert') {
      const n = `distilbert.transformer.layer.${i}`;
      for (const d of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) dense(`${n}.attention.${d}`, H, H);
      norm(`${n}.sa_layer_norm`, H);
      dense(`${n}.ffn.lin1`, H, c.intermediateSize);
      dense(`${n}.ffn.lin2`, c.intermediateSize, H);
      norm(`${n}.output_layer_norm`, H);
    } else {
      const n = `${p}.encoder.layer.${i}`;
      for (const d of ['self.query', 'self.key', 'self.value', 'output.dense']) dense(`${n}.attention.${d}`, H, H);
      norm(`${n}.attention.output.LayerNorm`, H);
      dense(`${n}.intermediate.dense`, H, c.intermediateSize);
      dense(`${n}.output.dense`, c.intermediateSize, H);
      norm(`${n}.output.LayerNorm`, H);
    }
  }
  return out;
}

/**
 * The first NaN or infinity of a checkpoint tensor, as `"a NaN at index 17"`, or undefined when all are finite
 * (integer tensors always are).
 */
export function firstNonFinite(t: HostTensor): string | undefined {
  const d = t.data;
  if (!(d instanceof Float32Array || d instanceof Float64Array)) return undefined;
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    // x - x is 0 for every finite x and NaN for NaN and +-Infinity (faster than Number.isFinite on typed arrays).
    if (x - x !== 0) return `a ${Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity'} at index ${i}`;
  }
  return undefined;
}

/**
 * Embeddings and encoder layers with freshly initialised weights as Hugging Face does: normal(0, initializer_range)
 * for Linear and Embedding weights (padding row zeroed), zero biases, LayerNorm weight 1 / bias 0; DistilBERT's
 * sinusoidal position table when `sinusoidalPosEmbds` (then not trainable). A subclass adds its head's parameters in
 * its constructor with {@link dense} / {@link norm} / {@link add}, drawing from the same seeded stream.
 */
export class EncoderBody {
  readonly family: ModelFamily;
  protected readonly params: Param[] = [];
  protected readonly byName = new Map<string, Param>();
  /** Checkpoint names that are other names of a parameter (tied weights): `alias -> parameter name`. */
  protected readonly aliases = new Map<string, string>();
  protected readonly wordEmb: tf.Variable;
  private readonly posEmb: tf.Variable;
  private readonly typeEmb?: tf.Variable;
  private readonly embNorm: Norm;
  private readonly project?: Dense;
  private readonly layers: Layer[] = [];
  private readonly rng: ReturnType<typeof createRng>;
  private disposed = false;
  /**
   * Per-layer activation recomputation when gradients are taken (default false): each layer keeps only its input on
   * the tape and runs its forward again in the backward pass. Same gradients (same dropout masks); about one more
   * forward pass of time; the activation memory of one layer instead of all (BERT-base at 8 x 128 on wasm fits).
   */
  recompute = false;

  constructor(
    readonly config: EncoderConfig,
    seed: number,
    /** What the model is, in messages: `'classifier'`, `'masked LM'`. */
    protected readonly kind: string,
  ) {
    const c = config;
    this.family = c.family;
    if (c.hiddenSize % c.numHeads !== 0) {
      throw new UsageError(`hiddenSize ${c.hiddenSize} is not a multiple of numHeads ${c.numHeads}; change one of them`);
    }
    this.rng = createRng(seed);
    const H = c.hiddenSize;
    const E = c.embeddingSize;
    const p = c.family;
    const withZeroRow = (shape: [number, number], row: number): tf.Tensor =>
      tf.tidy(() => {
        const rows = new Float32Array(shape[0]).fill(1);
        if (row >= 0 && row < shape[0]) rows[row] = 0;
        return tf.mul(this.normal(shape), tf.tensor2d(rows, [shape[0], 1]));
      });

    this.wordEmb = this.add(`${p}.embeddings.word_embeddings.weight`, withZeroRow([c.vocabSize, E], c.padTokenId));
    if (c.sinusoidalPosEmbds) {
      this.posEmb = this.add(`${p}.embeddings.position_embeddings.weight`, sinusoidalTable(c.maxPositions, E), false, false);
    } else if (c.family === 'roberta') {
      this.posEmb = this.add(`${p}.embeddings.position_embeddings.weight`, withZeroRow([c.maxPositions, E], c.padTokenId));
    } else {
      this.posEmb = this.add(`${p}.embeddings.position_embeddings.weight`, this.normal([c.maxPositions, E]));
    }
    if (c.family !== 'distilbert') {
      this.typeEmb = this.add(`${p}.embeddings.token_type_embeddings.weight`, this.normal([Math.max(1, c.typeVocabSize), E]));
    }
    this.embNorm = this.norm(`${p}.embeddings.LayerNorm`, E);
    if (c.family === 'electra' && E !== H) this.project = this.dense('electra.embeddings_project', E, H);
    else if (E !== H) throw new UsageError(`embeddingSize ${E} differs from hiddenSize ${H}; only ELECTRA supports that`);

    for (let i = 0; i < c.numLayers; i++) {
      if (c.family === 'distilbert') {
        const n = `distilbert.transformer.layer.${i}`;
        this.layers.push({
          q: this.dense(`${n}.attention.q_lin`, H, H),
          k: this.dense(`${n}.attention.k_lin`, H, H),
          v: this.dense(`${n}.attention.v_lin`, H, H),
          o: this.dense(`${n}.attention.out_lin`, H, H),
          ln1: this.norm(`${n}.sa_layer_norm`, H),
          ff1: this.dense(`${n}.ffn.lin1`, H, c.intermediateSize),
          ff2: this.dense(`${n}.ffn.lin2`, c.intermediateSize, H),
          ln2: this.norm(`${n}.output_layer_norm`, H),
        });
      } else {
        const n = `${p}.encoder.layer.${i}`;
        this.layers.push({
          q: this.dense(`${n}.attention.self.query`, H, H),
          k: this.dense(`${n}.attention.self.key`, H, H),
          v: this.dense(`${n}.attention.self.value`, H, H),
          o: this.dense(`${n}.attention.output.dense`, H, H),
          ln1: this.norm(`${n}.attention.output.LayerNorm`, H),
          ff1: this.dense(`${n}.intermediate.dense`, H, c.intermediateSize),
          ff2: this.dense(`${n}.output.dense`, c.intermediateSize, H),
          ln2: this.norm(`${n}.output.LayerNorm`, H),
        });
      }
    }
  }

  /** normal(0, initializer_range) from the model's seeded stream. */
  protected normal(shape: number[]): tf.Tensor {
    return tf.randomNormal(shape, 0, this.config.initializerRange, 'float32', this.rng.tfSeed());
  }

  /** Register a parameter (takes ownership of `value`). */
  protected add(name: string, value: tf.Tensor, linear = false, trainable = true): tf.Variable {
    const variable = tf.variable(value, trainable);
    value.dispose();
    const p = { name, variable, linear, trainable };
    this.params.push(p);
    this.byName.set(name, p);
    return variable;
  }

  protected dense(name: string, inSize: number, outSize: number): Dense {
    return { w: this.add(`${name}.weight`, this.normal([inSize, outSize]), true), b: this.add(`${name}.bias`, tf.zeros([outSize])) };
  }

  protected norm(name: string, size: number): Norm {
    return { g: this.add(`${name}.weight`, tf.ones([size])), b: this.add(`${name}.bias`, tf.zeros([size])) };
  }

  parameters(): Array<{ name: string; variable: tf.Variable }> {
    this.alive();
    return this.params.filter((p) => p.trainable).map((p) => ({ name: p.name, variable: p.variable }));
  }

  /** Every weight by Hugging Face name in Parry's layout (Linear weights `[in, out]`), fixed tables included. */
  weights(): Array<{ name: string; variable: tf.Variable; linear: boolean }> {
    this.alive();
    return this.params.map((p) => ({ name: p.name, variable: p.variable, linear: p.linear }));
  }

  wordEmbeddings(): tf.Variable {
    this.alive();
    return this.wordEmb;
  }

  embed(inputIds: tf.Tensor2D): tf.Tensor3D {
    this.alive();
    if (inputIds.rank !== 2) throw new UsageError(`inputIds must be [batch, tokens], got shape [${inputIds.shape}]`);
    const [B, T] = inputIds.shape;
    return tf.tidy(() => {
      const ids = inputIds.dtype === 'int32' ? inputIds : tf.cast(inputIds, 'int32');
      return tf.reshape(tf.gather(this.wordEmb, tf.reshape(ids, [B * T])), [B, T, this.config.embeddingSize]);
    });
  }

  /**
   * The last encoder layer's hidden states `[B, T, H]` for every token (no head, no pooler): what a sentence encoder
   * pools and a language-model head reads. Padded positions hold values too; mask them with `batch.attentionMask`.
   */
  hiddenStates(batch: TextBatch, options: ForwardOptions = {}): tf.Tensor3D {
    const drop = dropper(options);
    return tf.tidy(() => {
      const [B, T] = batch.inputIds.shape;
      return tf.reshape(this.encode(this.embed(batch.inputIds), batch, drop, false), [B, T, this.config.hiddenSize]) as tf.Tensor3D;
    });
  }

  /**
   * Hidden states of the last layer from `inputs_embeds`: `[B*T, H]`, or with `firstOnly` `[B, H]` for the first token
   * of each row (the last layer then computes its queries and feed-forward for that row only). Call inside a tidy.
   */
  protected encode(inputsEmbeds: tf.Tensor3D, batch: TextBatch, drop: Drop, firstOnly: boolean): tf.Tensor {
    this.alive();
    const c = this.config;
    const [B, T, E] = inputsEmbeds.shape;
    this.checkBatch(inputsEmbeds, batch);
    // Embeddings: words + positions (+ token types), LayerNorm, dropout (+ ELECTRA's projection).
    let x: tf.Tensor = tf.add(inputsEmbeds, this.positionEmbeddings(batch.inputIds, B, T));
    if (this.typeEmb) {
      const useTypes = batch.tokenTypeIds !== undefined && (c.family === 'bert' || c.family === 'electra');
      const types = useTypes
        ? tf.reshape(tf.gather(this.typeEmb, tf.reshape(tf.cast(batch.tokenTypeIds!, 'int32'), [B * T])), [B, T, E])
        : tf.slice(this.typeEmb, [0, 0], [1, E]);
      x = tf.add(x, types);
    }
    let h = drop(layerNorm(tf.reshape(x, [B * T, E]), this.embNorm, c.layerNormEps), c.hiddenDropout);
    if (this.project) h = linear(h, this.project);
    // [B, 1, 1, T]: 0 on tokens, MASK_NEG on padding.
    const maskBias = tf.reshape(tf.mul(tf.sub(1, tf.cast(batch.attentionMask, 'float32')), MASK_NEG), [B, 1, 1, T]);
    this.layers.forEach((layer, i) => {
      const first = firstOnly && i === this.layers.length - 1;
      if (!this.recompute) {
        h = this.layer(h, layer, maskBias, B, T, first, drop);
        return;
      }
      const drops = replayingDropout(drop);
      const weights = [layer.q, layer.k, layer.v, layer.o, layer.ln1, layer.ff1, layer.ff2, layer.ln2].flatMap((d) => ('w' in d ? [d.w, d.b] : [d.g, d.b]));
      h = recomputeGrad((keeper, x, mask) => this.layer(x, layer, mask, B, T, first, drops(), keeper), [h, maskBias], weights);
    });
    return h;
  }

  /** `[T, E]` rows (broadcast over the batch), or `[B, T, E]` for RoBERTa's padding-aware position ids. */
  private positionEmbeddings(inputIds: tf.Tensor2D, B: number, T: number): tf.Tensor {
    const c = this.config;
    if (c.family !== 'roberta') return tf.slice(this.posEmb, [0, 0], [T, c.embeddingSize]);
    // position = padding_idx + (number of non-pad tokens up to and including this one); pads get padding_idx.
    const isToken = tf.cast(tf.notEqual(inputIds, c.padTokenId), 'float32');
    const positions = tf.cast(tf.add(tf.mul(tf.cumsum(isToken, 1), isToken), c.padTokenId), 'int32');
    return tf.reshape(tf.gather(this.posEmb, tf.reshape(positions, [B * T])), [B, T, c.embeddingSize]);
  }

  /**
   * One post-LN encoder layer on `[B*T, H]`; with `firstOnly`, returns `[B, H]` for the first token of each row.
   * Under recomputation (`keeper`), the dense layers' outputs are kept from the first run and replayed.
   */
  private layer(x: tf.Tensor, l: Layer, maskBias: tf.Tensor, B: number, T: number, firstOnly: boolean, drop: Drop, keeper?: Keeper): tf.Tensor {
    const linear = keeper ? (v: tf.Tensor, d: Dense) => keeper.keep(() => dense(v, d), (y) => replayDense(v, d, y)) : dense;
    const c = this.config;
    const H = c.hiddenSize;
    const nh = c.numHeads;
    const dh = H / nh;
    const Tq = firstOnly ? 1 : T;
    const xq = firstOnly ? tf.reshape(tf.slice(tf.reshape(x, [B, T, H]), [0, 0, 0], [B, 1, H]), [B, H]) : x;
    const q = tf.transpose(tf.reshape(tf.mul(linear(xq, l.q), 1 / Math.sqrt(dh)), [B, Tq, nh, dh]), [0, 2, 1, 3]);
    const kT = tf.transpose(tf.reshape(linear(x, l.k), [B, T, nh, dh]), [0, 2, 3, 1]);
    const v = tf.transpose(tf.reshape(linear(x, l.v), [B, T, nh, dh]), [0, 2, 1, 3]);
    const probs = drop(tf.softmax(tf.add(tf.matMul(q, kT), maskBias)), c.attentionDropout);
    const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * Tq, H]);
    let attn = linear(ctx, l.o);
    // DistilBERT has no dropout on the attention output (only on the probabilities).
    if (c.family !== 'distilbert') attn = drop(attn, c.hiddenDropout);
    const h1 = layerNorm(tf.add(attn, xq), l.ln1, c.layerNormEps);
    const ff = drop(linear(activation(linear(h1, l.ff1), c.hiddenAct), l.ff2), c.hiddenDropout);
    return layerNorm(tf.add(ff, h1), l.ln2, c.layerNormEps);
  }

  private checkBatch(embeds: tf.Tensor3D, batch: TextBatch): void {
    const c = this.config;
    if (embeds.rank !== 3 || embeds.shape[2] !== c.embeddingSize) {
      throw new UsageError(`inputsEmbeds must be [batch, tokens, ${c.embeddingSize}], got [${embeds.shape}]`);
    }
    const [B, T] = embeds.shape;
    for (const [key, t] of [
      ['inputIds', batch.inputIds],
      ['attentionMask', batch.attentionMask],
      ['tokenTypeIds', batch.tokenTypeIds],
    ] as const) {
      if (t !== undefined && (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== T)) {
        throw new UsageError(`batch.${key} has shape [${t.shape}] but the embeddings are [${B}, ${T}, ...]; give all [${B}, ${T}]`);
      }
    }
    const maxT = usablePositions(c);
    if (T > maxT) {
      throw new InputError(`a batch of ${T} tokens exceeds the model's ${maxT} positions (max_position_embeddings); truncate to ${maxT}`);
    }
  }

  stateDict(): Record<string, HostTensor> {
    this.alive();
    const out: Record<string, HostTensor> = {};
    for (const p of this.params) {
      const t = p.linear ? tf.transpose(p.variable) : p.variable;
      const data = new Float32Array(t.dataSync() as Float32Array);
      if (t !== p.variable) t.dispose();
      out[p.name] = { dtype: 'F32', shape: hfShape(p), data };
    }
    return out;
  }

  loadStateDict(tensors: Record<string, HostTensor>, options: { strict?: boolean; source?: string } = {}): void {
    this.alive();
    const strict = options.strict ?? true;
    const source = options.source ?? 'checkpoint';
    const entries = normaliseNames(tensors, this.family);
    // A tied weight under its other name (`cls.predictions.decoder.weight`) is the same tensor: checked, not loaded
    // twice; it stands in for the parameter only when the checkpoint lacks the parameter's own name.
    const aliased: Array<[string, HostTensor]> = [];
    for (const [alias, target] of this.aliases) {
      const t = entries.get(alias);
      if (t === undefined) continue;
      entries.delete(alias);
      if (entries.has(target)) aliased.push([target, t]);
      else entries.set(target, t);
    }
    const missing: string[] = [];
    const unexpected: string[] = [];
    const problems: string[] = [];
    const assign: Array<[Param, HostTensor]> = [];
    const check = (p: Param, t: HostTensor): boolean => {
      const shape = hfShape(p);
      if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
        problems.push(`tensor "${p.name}" has dtype ${t.dtype}, not a float type`);
      } else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]) || t.data.length !== sizeOf(shape)) {
        problems.push(`tensor "${p.name}" has shape [${t.shape}] but the config needs [${shape}]`);
      } else return true;
      return false;
    };
    for (const p of this.params) {
      const t = entries.get(p.name);
      if (t === undefined) {
        // A sinusoidal table is recomputed, so a checkpoint may omit it.
        if (!(p.name.endsWith('position_embeddings.weight') && this.config.sinusoidalPosEmbds)) missing.push(p.name);
        continue;
      }
      if (!check(p, t)) continue;
      if (firstNonFinite(t) !== undefined) {
        // A NaN or infinite weight makes every prediction meaningless: refuse it here rather than report 45% accuracy.
        throw new InputError(`${source}: tensor "${p.name}" has ${firstNonFinite(t)}; the checkpoint is corrupt: re-download or re-train it`);
      }
      assign.push([p, t]);
    }
    for (const [target, t] of aliased) check(this.byName.get(target)!, t);
    for (const name of entries.keys()) if (!this.byName.has(name)) unexpected.push(name);
    if (problems.length > 0) {
      throw new InputError(`${source}: ${listing(problems, '; ')}; check that config.json matches the checkpoint`);
    }
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing ${listing(missing)}`);
      if (unexpected.length > 0) parts.push(`unexpected ${listing(unexpected)}`);
      throw new InputError(
        `${source}: ${parts.join('; ')} for a ${this.family} ${this.kind}; use a checkpoint of the same family and size, or strict: false`,
      );
    }
    for (const [p, t] of assign) {
      tf.tidy(() => {
        const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);
        const value = tf.tensor(data, t.shape, 'float32');
        p.variable.assign(p.linear ? tf.transpose(value) : value);
      });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params) p.variable.dispose();
  }

  protected alive(): void {
    if (this.disposed) throw new UsageError(`this Transformer ${this.kind} was disposed; create or load it again`);
  }
}

/** A parameter's shape in torch layout (Linear weights `[out, in]`). */
function hfShape(p: Param): number[] {
  const shape = p.variable.shape as number[];
  return p.linear ? [shape[1], shape[0]] : [...shape];
}

export type Drop = ((x: tf.Tensor, rate: number) => tf.Tensor) & {
  /** When training: the seed the next mask takes from the pass's stream (undefined: unseeded, random masks). */
  nextSeed?: () => number | undefined;
};

/** Dropout when training (seeded masks when a seed is given: one stream of seeds per forward pass). */
export function dropper(options: ForwardOptions): Drop {
  if (!options.training) return (x) => x;
  const rng = options.seed === undefined ? undefined : createRng(options.seed);
  const nextSeed = () => rng?.tfSeed();
  return Object.assign((x: tf.Tensor, rate: number) => (rate > 0 ? tf.dropout(x, rate, undefined, nextSeed()) : x), { nextSeed });
}

/**
 * For recomputation: a source of dropouts for one layer whose first one draws its seeds from `drop`'s stream (the
 * same seeds, in the same order, as without recomputation; random ones when unseeded) and whose later ones replay
 * them, so the recomputed forward uses the masks of the forward that was run.
 */
function replayingDropout(drop: Drop): () => Drop {
  if (!drop.nextSeed) return () => drop;
  const seeds: number[] = [];
  let passes = 0;
  return () => {
    const recording = passes++ === 0;
    let at = 0;
    return (x, rate) => {
      if (!(rate > 0)) return x;
      if (recording) seeds.push(drop.nextSeed!() ?? Math.floor(Math.random() * 2 ** 31));
      return tf.dropout(x, rate, undefined, seeds[at++]);
    };
  };
}

/** `x [N, in] @ w [in, out] + b`. */
export function linear(x: tf.Tensor, d: Dense): tf.Tensor {
  return tf.fused.matMul({ a: x as tf.Tensor2D, b: d.w as tf.Tensor2D, bias: d.b });
}

const dense = linear;

/**
 * `linear(x, d)` whose value `y` was computed before (recomputation keeps it): returns `y` (a clone) with the
 * gradients of the fused matMul, `dY @ w^T` for x, `x^T @ dY` for w and the row sum of dY for b (the same ops
 * tfjs' fused matMul gradient runs).
 */
function replayDense(x: tf.Tensor, d: Dense, y: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((xi: tf.Tensor, w: tf.Tensor, _b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi, w]);
    return {
      value: tf.clone(y),
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, ws as tf.Tensor2D, false, true), tf.matMul(xs as tf.Tensor2D, dy as tf.Tensor2D, true, false), tf.sum(dy, 0)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, d.w, d.b);
}

/** LayerNorm over the last axis (biased variance, as torch). */
export function layerNorm(x: tf.Tensor, n: Norm, eps: number): tf.Tensor {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), n.g), n.b);
}

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The HF activations by name (`gelu` is the exact erf form; the `*_new`/tanh names the tanh approximation). */
export function activation(x: tf.Tensor, name: HiddenActivation): tf.Tensor {
  switch (name) {
    case 'gelu':
    case 'gelu_python':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT_HALF)), 1));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
    case 'gelu_accurate': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case 'quick_gelu':
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    case 'relu':
      return tf.relu(x);
    case 'silu':
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'linear':
      return x;
  }
}

/** DistilBERT's fixed table: sin on even, cos on odd columns of pos / 10000^(2*(j/2)/dim). */
function sinusoidalTable(positions: number, dim: number): tf.Tensor {
  const data = new Float32Array(positions * dim);
  for (let pos = 0; pos < positions; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / dim);
      data[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(data, [positions, dim]);
}

/** Checkpoint names as this model names them: legacy gamma/beta, buffers dropped, a bare base model's prefix added. */
function normaliseNames(tensors: Record<string, HostTensor>, family: ModelFamily): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  const names = Object.keys(tensors).filter((name) => !BUFFER_SUFFIXES.some((s) => name === s || name.endsWith(`.${s}`)));
  const hasPrefix = names.some((n) => n.startsWith(`${family}.`));
  const baseRoots = ['embeddings.', 'encoder.', 'transformer.', 'pooler.', 'embeddings_project.'];
  for (const name of names) {
    let n = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (!hasPrefix && baseRoots.some((r) => n.startsWith(r))) n = `${family}.${n}`;
    out.set(n, tensors[name]);
  }
  return out;
}

export function listing(items: string[], sep = ', ', max = 6): string {
  const head = items.slice(0, max).join(sep);
  return items.length > max ? `${head}${sep}(+${items.length - max} more)` : head;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
