/**
 * Export a Parry Transformer classifier (BERT, ELECTRA, DistilBERT, RoBERTa; single- or multi-label) to an ONNX graph
 * in-process, without Python, so forward-only work (clean evaluation, text-attack candidate scoring, black-box
 * victims) can run on ONNX Runtime while gradients and training stay in tfjs.
 *
 * Writer: `onnx-proto`, the ONNX protobuf schema compiled for JavaScript (protobufjs); the graph is built node by
 * node from the same computation as `TransformerClassifier.forwardFromEmbeddings` in inference mode (no dropout).
 * Opset 17 (LayerNormalization is a standard op from 17; ONNX Runtime 1.14+ runs it). Inputs `input_ids`,
 * `attention_mask` and, for BERT and ELECTRA, `token_type_ids` (int64 `[batch, tokens]`, both dynamic); output
 * `logits` `[batch, labels]` (scores before softmax/sigmoid, as the tfjs model). The bare encoder can be exported instead
 * (`output: 'last_hidden_state'`, for feature extraction). Weights are stored as float32
 * initializers; Linear weights keep Parry's `[in, out]` layout (MatMul needs no transpose).
 */
import onnxProto from 'onnx-proto';
import type { HiddenActivation } from './config.js';
import type { TransformerClassifier } from './encoder.js';

const { onnx } = onnxProto;
type Attr = { name: string; i?: number; f?: number; ints?: number[] };

const MASK_NEG = -1e9;
const FLOAT = 1;
const INT64 = 7;

/** Builds a graph: names values, adds nodes and initializers. */
class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private n = 0;

  private fresh(op: string): string {
    return `${op.toLowerCase()}_${this.n++}`;
  }

  op(opType: string, inputs: string[], attrs: Attr[] = [], output?: string): string {
    const out = output ?? this.fresh(opType);
    const attribute = attrs.map((a) =>
      a.ints !== undefined
        ? { name: a.name, type: onnx.AttributeProto.AttributeType.INTS, ints: a.ints }
        : a.f !== undefined
          ? { name: a.name, type: onnx.AttributeProto.AttributeType.FLOAT, f: a.f }
          : { name: a.name, type: onnx.AttributeProto.AttributeType.INT, i: a.i },
    );
    this.nodes.push({ opType, input: inputs, output: [out], name: out, attribute });
    return out;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
    return name;
  }

  ints(values: number[], name = this.fresh('const')): string {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  scalar(value: number, name = this.fresh('scalar')): string {
    this.initializers.push({ name, dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  }

  scalarInt(value: number, name = this.fresh('iscalar')): string {
    this.initializers.push({ name, dims: [], dataType: INT64, rawData: new Uint8Array(BigInt64Array.of(BigInt(value)).buffer) });
    return name;
  }
}

export interface OnnxExport {
  /** The serialized ModelProto (write it as `model.onnx`). */
  bytes: Uint8Array;
  /** Graph input names in order. */
  inputs: string[];
}

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /**
   * `logits` (default): the classifier, output `logits` `[batch, labels]`. `last_hidden_state`: the bare encoder,
   * output `last_hidden_state` `[batch, tokens, hidden]` (no head), what a feature-extraction / sentence-embedding
   * pipeline such as transformers.js' `pipeline('feature-extraction')` reads.
   */
  output?: 'logits' | 'last_hidden_state';
}

/** Serialize `model` (its current weights) as an ONNX model; see the file header. */
export function exportOnnx(model: TransformerClassifier, options: OnnxExportOptions = {}): OnnxExport {
  const output = options.output ?? 'logits';
  const c = model.config;
  const g = new GraphBuilder();
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const p of model.weights()) weights.set(p.name, { shape: [...p.variable.shape], data: new Float32Array(p.variable.dataSync() as Float32Array) });
  const w = (name: string): string => {
    const t = weights.get(name);
    if (!t) throw new Error(`ONNX export: the model has no parameter ${name} (a bug)`);
    if (!g.initializers.some((i) => i.name === name)) g.floats(name, t.shape, t.data);
    return name;
  };
  const linear = (x: string, prefix: string): string => g.op('Add', [g.op('MatMul', [x, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);
  const layerNorm = (x: string, prefix: string): string => g.op('LayerNormalization', [x, w(`${prefix}.weight`), w(`${prefix}.bias`)], [{ name: 'axis', i: -1 }, { name: 'epsilon', f: c.layerNormEps }]);
  const act = (x: string, name: HiddenActivation): string => activation(g, x, name);

  const p = c.family;
  const usesTypes = p === 'bert' || p === 'electra';
  const inputs = ['input_ids', 'attention_mask', ...(usesTypes ? ['token_type_ids'] : [])];
  const H = c.hiddenSize;
  const E = c.embeddingSize;
  const nh = c.numHeads;
  const dh = H / nh;

  // embeddings: words + positions (+ token types), LayerNorm (+ ELECTRA's projection)
  let x = g.op('Gather', [w(`${p}.embeddings.word_embeddings.weight`), 'input_ids'], [{ name: 'axis', i: 0 }]);
  let positions: string;
  if (p === 'roberta') {
    // position = padding_idx + running count of non-pad tokens; pads get padding_idx
    const isToken = g.op('Cast', [g.op('Not', [g.op('Equal', ['input_ids', g.scalarInt(c.padTokenId)])])], [{ name: 'to', i: INT64 }]);
    const count = g.op('CumSum', [isToken, g.scalarInt(1)]);
    positions = g.op('Add', [g.op('Mul', [count, isToken]), g.scalarInt(c.padTokenId)]);
  } else {
    const T = g.op('Gather', [g.op('Shape', ['input_ids']), g.scalarInt(1)], [{ name: 'axis', i: 0 }]);
    positions = g.op('Range', [g.scalarInt(0), T, g.scalarInt(1)]);
  }
  x = g.op('Add', [x, g.op('Gather', [w(`${p}.embeddings.position_embeddings.weight`), positions], [{ name: 'axis', i: 0 }])]);
  if (p !== 'distilbert') {
    const types = usesTypes ? 'token_type_ids' : g.scalarInt(0);
    x = g.op('Add', [x, g.op('Gather', [w(`${p}.embeddings.token_type_embeddings.weight`), types], [{ name: 'axis', i: 0 }])]);
  }
  let h = layerNorm(x, `${p}.embeddings.LayerNorm`);
  if (p === 'electra' && E !== H) h = linear(h, 'electra.embeddings_project');

  // [B, 1, 1, T]: 0 on tokens, MASK_NEG on padding
  const maskF = g.op('Cast', ['attention_mask'], [{ name: 'to', i: FLOAT }]);
  const maskBias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.scalar(1), maskF]), g.scalar(MASK_NEG)]), g.ints([1, 2])]);
  const heads = g.ints([0, 0, nh, dh]);
  const merged = g.ints([0, 0, H]);
  const scale = g.scalar(1 / Math.sqrt(dh));

  for (let i = 0; i < c.numLayers; i++) {
    const distil = p === 'distilbert';
    const n = distil ? `distilbert.transformer.layer.${i}` : `${p}.encoder.layer.${i}`;
    const names = distil
      ? { q: 'attention.q_lin', k: 'attention.k_lin', v: 'attention.v_lin', o: 'attention.out_lin', ln1: 'sa_layer_norm', ff1: 'ffn.lin1', ff2: 'ffn.lin2', ln2: 'output_layer_norm' }
      : { q: 'attention.self.query', k: 'attention.self.key', v: 'attention.self.value', o: 'attention.output.dense', ln1: 'attention.output.LayerNorm', ff1: 'intermediate.dense', ff2: 'output.dense', ln2: 'output.LayerNorm' };
    const q = g.op('Transpose', [g.op('Reshape', [g.op('Mul', [linear(h, `${n}.${names.q}`), scale]), heads])], [{ name: 'perm', ints: [0, 2, 1, 3] }]);
    const kT = g.op('Transpose', [g.op('Reshape', [linear(h, `${n}.${names.k}`), heads])], [{ name: 'perm', ints: [0, 2, 3, 1] }]);
    const v = g.op('Transpose', [g.op('Reshape', [linear(h, `${n}.${names.v}`), heads])], [{ name: 'perm', ints: [0, 2, 1, 3] }]);
    const probs = g.op('Softmax', [g.op('Add', [g.op('MatMul', [q, kT]), maskBias])], [{ name: 'axis', i: -1 }]);
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], [{ name: 'perm', ints: [0, 2, 1, 3] }]), merged]);
    const h1 = layerNorm(g.op('Add', [linear(ctx, `${n}.${names.o}`), h]), `${n}.${names.ln1}`);
    const ff = linear(act(linear(h1, `${n}.${names.ff1}`), c.hiddenAct), `${n}.${names.ff2}`);
    h = layerNorm(g.op('Add', [ff, h1]), `${n}.${names.ln2}`);
  }

  const tokens = (name: string) => ({ name, type: { tensorType: { elemType: INT64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'tokens' }] } } } });
  const finish = (name: string, outputs: onnxProto.onnx.IValueInfoProto[]): OnnxExport => {
    const graph = onnx.GraphProto.create({ name, node: g.nodes, initializer: g.initializers, input: inputs.map(tokens), output: outputs });
    const proto = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'parry', graph });
    return { bytes: onnx.ModelProto.encode(proto).finish(), inputs };
  };
  if (output === 'last_hidden_state') {
    g.op('Identity', [h], [], 'last_hidden_state');
    const dims = [{ dimParam: 'batch' }, { dimParam: 'tokens' }, { dimValue: H }];
    return finish(`parry-${p}-encoder`, [{ name: 'last_hidden_state', type: { tensorType: { elemType: FLOAT, shape: { dim: dims } } } }]);
  }

  // the head reads the first token
  const first = g.op('Gather', [h, g.scalarInt(0)], [{ name: 'axis', i: 1 }]);
  let logits: string;
  switch (p) {
    case 'bert':
      logits = linear(g.op('Tanh', [linear(first, 'bert.pooler.dense')]), 'classifier');
      break;
    case 'distilbert':
      logits = linear(g.op('Relu', [linear(first, 'pre_classifier')]), 'classifier');
      break;
    case 'electra':
      logits = linear(act(linear(first, 'classifier.dense'), 'gelu'), 'classifier.out_proj');
      break;
    case 'roberta':
      logits = linear(g.op('Tanh', [linear(first, 'classifier.dense')]), 'classifier.out_proj');
      break;
  }
  g.op('Identity', [logits], [], 'logits');
  return finish(`parry-${p}-classifier`, [{ name: 'logits', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: c.numLabels }] } } } }]);
}

/** The HF activations as ONNX nodes (the exact erf GELU for `gelu`, the tanh approximation for the `*_new` names). */
function activation(g: GraphBuilder, x: string, name: HiddenActivation): string {
  switch (name) {
    case 'gelu':
    case 'gelu_python':
      return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2)])]), g.scalar(1)])]);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
    case 'gelu_accurate': {
      const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
      const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
      return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar(1)])]);
    }
    case 'quick_gelu':
      return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.scalar(1.702)])])]);
    case 'relu':
      return g.op('Relu', [x]);
    case 'silu':
    case 'swish':
      return g.op('Mul', [x, g.op('Sigmoid', [x])]);
    case 'tanh':
      return g.op('Tanh', [x]);
    case 'sigmoid':
      return g.op('Sigmoid', [x]);
    case 'linear':
      return x;
  }
}
