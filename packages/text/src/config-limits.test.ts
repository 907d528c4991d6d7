import { describe, expect, it } from 'vitest';
import { InputError, UsageError } from '@parry/core';
import { CONFIG_LIMITS, countParameters, parseHfConfig, smallConfig, validateConfig } from './config.js';

const SRC = 'models/x/config.json';
const bert = (extra: Record<string, unknown>) => ({ model_type: 'bert', ...extra });

/** The error `fn` throws (fails the test when it returns). */
function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('config.json sizes are checked against documented limits before anything is allocated', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['vocab_size 2**31', { vocab_size: 2 ** 31 }, /vocab_size 2147483648 is over the limit of 1000000/],
    ['num_hidden_layers 1000000', { num_hidden_layers: 1_000_000 }, /num_hidden_layers 1000000 is over the limit of 256/],
    ['num_labels 1e8', { num_labels: 1e8 }, /num_labels 100000000 is over the limit of 100000/],
    ['hidden_size 1e9', { hidden_size: 1e9 }, /hidden_size 1000000000 is over the limit of 16384/],
    ['max_position_embeddings 1e9', { max_position_embeddings: 1e9 }, /max_position_embeddings 1000000000 is over the limit of 65536/],
    ['intermediate_size 1e10', { intermediate_size: 1e10 }, /intermediate_size 10000000000 is over the limit of 65536/],
    ['type_vocab_size 1e9', { type_vocab_size: 1e9 }, /type_vocab_size 1000000000 is over the limit of 1024/],
    ['num_attention_heads 1e9', { num_attention_heads: 1e9 }, /num_attention_heads 1000000000 is over the limit/],
  ];
  for (const [name, extra, re] of cases) {
    it(`config.json ${name} is refused before any allocation, naming the key`, () => {
      const e = caught(() => parseHfConfig(bert(extra), SRC));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(re);
      expect(e.message.startsWith(`${SRC}: `)).toBe(true);
      expect(e.message).not.toMatch(/\n/);
    });
  }

  it('config.json with DistilBERT keys names its own keys (dim, n_layers, hidden_dim)', () => {
    expect(caught(() => parseHfConfig({ model_type: 'distilbert', dim: 1e9 }, SRC)).message).toMatch(/dim 1000000000 is over the limit of 16384/);
    expect(caught(() => parseHfConfig({ model_type: 'distilbert', n_layers: 1e6 }, SRC)).message).toMatch(/n_layers 1000000 is over/);
    expect(caught(() => parseHfConfig({ model_type: 'distilbert', hidden_dim: 1e10 }, SRC)).message).toMatch(/hidden_dim 10000000000 is over/);
  });

  it('config.json id2label with over 100000 labels is refused', () => {
    const id2label: Record<string, string> = {};
    for (let i = 0; i <= CONFIG_LIMITS.numLabels; i++) id2label[String(i)] = `l${i}`;
    expect(caught(() => parseHfConfig(bert({ id2label }), SRC)).message).toMatch(/id2label has 100001 entries, over the limit of 100000/);
  });

  it('config.json whose sizes are each in range but whose total is too large is refused with the parameter count', () => {
    const e = caught(() => parseHfConfig(bert({ vocab_size: 1_000_000, hidden_size: 16384, num_attention_heads: 16 }), SRC));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/has \d[\d,]* parameters, over the limit of 2,000,000,000/);
  });

  it('real checkpoints stay within the limits (bert-base, roberta-large, xlm-r-sized vocabulary)', () => {
    expect(parseHfConfig(bert({}), SRC).vocabSize).toBe(30522);
    const large = parseHfConfig({ model_type: 'roberta', vocab_size: 250002, hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16, intermediate_size: 4096, max_position_embeddings: 514 }, SRC);
    expect(countParameters(large)).toBeGreaterThan(5e8);
    expect(countParameters(large)).toBeLessThan(CONFIG_LIMITS.parameters);
  });

  it('countParameters counts bert-base-uncased as transformers does (109,483,778 with a 2-label head)', () => {
    expect(countParameters(parseHfConfig(bert({}), SRC))).toBe(109_483_778);
  });
});

describe('one validator, messages in the caller\'s vocabulary', () => {
  it('--hidden 30 --heads 4 says "--hidden 30 is not a multiple of --heads 4", not hidden_size', () => {
    const cfg = { ...smallConfig('bert'), hiddenSize: 30, numHeads: 4 };
    const e = caught(() => validateConfig(cfg, { source: 'flags' }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe('--hidden 30 is not a multiple of --heads 4; change one of them');
  });

  it('--hidden 1000000000 is refused naming --hidden', () => {
    const e = caught(() => validateConfig({ ...smallConfig('bert'), hiddenSize: 1e9, intermediateSize: 4e9 }, { source: 'flags' }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/^--hidden 1000000000 is over the limit of 16384/);
  });

  it('--max-length 100000000 is refused naming --max-length (RoBERTa: the flag value, not the position count)', () => {
    expect(caught(() => validateConfig({ ...smallConfig('bert'), maxPositions: 1e8 }, { source: 'flags' })).message).toMatch(/^--max-length 100000000 is over the limit of 65536/);
    const rob = smallConfig('roberta');
    expect(caught(() => validateConfig({ ...rob, maxPositions: 1e8 + 2 }, { source: 'flags' })).message).toMatch(/^--max-length 100000000 is over the limit of 65534/);
  });

  it('config.json hidden_size 30 with 4 heads names the file keys', () => {
    expect(caught(() => parseHfConfig(bert({ hidden_size: 30, num_attention_heads: 4 }), SRC)).message).toBe(
      `${SRC}: hidden_size 30 is not a multiple of num_attention_heads 4; change one of them`,
    );
  });

  it('smallConfig (library options) names option keys and throws UsageError', () => {
    const e = caught(() => smallConfig('bert', { hiddenSize: 1e9 }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/^hiddenSize 1000000000 is over the limit of 16384/);
    expect(caught(() => smallConfig('bert', { numLabels: 1e8 })).message).toMatch(/^numLabels 100000000 is over the limit of 100000/);
  });
});
