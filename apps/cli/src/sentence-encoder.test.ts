/**
 * `parry eval --sentence-encoder <folder>` (issue 16): the folder reaches TextFooler's sentence-similarity check (a
 * Parry encoder folder, mean-pooled, and an ONNX sentence-embedding folder through transformers.js), is named in the
 * notes and the results; a bad folder, or the flag without an attack, is one line and exit 2 with nothing written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parryInProcess, seeded } from './test-support.js';

/** Reviews of 16-22 words (longer than TextFooler's 15-word window, so the similarity check applies). */
function longReviewsCsv(n: number, seed: number): string {
  const filler = ['the', 'movie', 'plot', 'was', 'really', 'quite', 'a', 'story', 'film', 'and', 'cast', 'so'];
  const rand = seeded(seed);
  const lines = Array.from({ length: n }, () => {
    const label = rand(2);
    const words = Array.from({ length: 15 + rand(6) }, () => filler[rand(filler.length)]);
    words.splice(rand(words.length), 0, (label ? ['great', 'fun'] : ['awful', 'boring'])[rand(2)]);
    return `"${words.join(' ')}",${label}`;
  });
  return `review,sentiment\n${lines.join('\n')}\n`;
}

describe('parry eval --sentence-encoder', () => {
  let work: string;
  const model = () => path.join(work, 'model');
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-senc-'));
    fs.writeFileSync(path.join(work, 'train.csv'), longReviewsCsv(120, 1));
    fs.writeFileSync(path.join(work, 'dev.csv'), longReviewsCsv(20, 2));
    const small = ['--model', 'bert', '--hidden', '16', '--layers', '1', '--heads', '2', '--max-length', '32', '--vocab-size', '100', '--lr', '3e-3', '--epochs', '2', '--quiet'];
    const cols = ['--text-column', 'review', '--label-column', 'sentiment', '--label-names', 'neg,pos'];
    const r = await parryInProcess(['train', ...small, '--data', path.join(work, 'train.csv'), '--dev', path.join(work, 'dev.csv'), ...cols, '--out', model()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 300_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const evalArgs = (out: string, ...more: string[]) => ['eval', '--model', model(), '--attack', 'textfooler', '-n', '6', '-o', out, '--quiet', ...more];

  it('a Parry encoder folder reaches the similarity check: named in the notes and the results', async () => {
    const out = path.join(work, 'parry-enc.json');
    const r = await parryInProcess(evalArgs(out, '--sentence-encoder', model()));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const name = `${model()} (bert, mean-pooled)`;
    expect(r.stdout).toContain(`note: sentence similarity: ${name} over 15-word windows, angular >= 0.840845057`);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(res.attacks[0].options.sentenceEncoder).toBe(name);
    // without the flag: the mean-word-vector stand-in, said in a note
    const plain = await parryInProcess(evalArgs(path.join(work, 'plain.json')));
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/note: sentence similarity: mean of word vectors .* not a sentence encoder \(none given: --sentence-encoder <folder>\)/);
  }, 300_000);

  it('an ONNX sentence-embedding folder runs through transformers.js', async () => {
    const { exportOnnx, loadPretrained } = await import('@parry/text');
    const dir = path.join(work, 'onnx-encoder');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) fs.copyFileSync(path.join(model(), f), path.join(dir, f));
    const { model: m } = await loadPretrained(model());
    fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), exportOnnx(m, { output: 'last_hidden_state' }).bytes);
    m.dispose();
    const out = path.join(work, 'onnx-enc.json');
    const r = await parryInProcess(evalArgs(out, '--sentence-encoder', dir));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`note: sentence similarity: ${dir} (onnx, mean-pooled) over 15-word windows`);
  }, 300_000);

  it('a missing folder, a folder without a model, and the flag without an attack are one line, exit 2, nothing written', async () => {
    const out = path.join(work, 'bad.json');
    const missing = await parryInProcess(evalArgs(out, '--sentence-encoder', path.join(work, 'nope')));
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([`parry: --sentence-encoder ${path.join(work, 'nope')}: no such folder; give an encoder folder (config.json, model.safetensors, tokenizer files) or an ONNX sentence-embedding folder (onnx/model.onnx)`]);
    const empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    const nothing = await parryInProcess(evalArgs(out, '--sentence-encoder', empty));
    expect(nothing.code).toBe(2);
    expect(nothing.stderr.trim().split('\n')).toEqual([`parry: --sentence-encoder ${empty}: holds neither model.safetensors nor onnx/model.onnx; give an encoder folder or an ONNX sentence-embedding folder`]);
    const noAttack = await parryInProcess(['eval', '--model', model(), '-o', out, '--quiet', '--sentence-encoder', model()]);
    expect(noAttack.code).toBe(2);
    expect(noAttack.stderr.trim().split('\n')).toEqual(['parry: --sentence-encoder applies to attacks; add --attack <recipe> (e.g. textfooler)']);
    expect(fs.existsSync(out)).toBe(false);
  }, 300_000);
});
