import { InputError } from '@parry/core';
import type { Results } from '@parry/metrics';
import { describe, expect, it } from 'vitest';
import { BIDI_CONTROLS } from './escape.js';
import { renderReport } from './render.js';
import { evalResults, textResults, trainResults } from './testing/fixtures.js';

const opts = { generatedAt: '2026-11-22T00:00:00.000Z' };

/** Rendering fails with one InputError line matching `re` (never a RangeError or a stack from the PNG encoder). */
async function refused(results: Results, re: RegExp): Promise<void> {
  const err = await renderReport([{ file: 'runs/hostile.json', results }], opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  expect((err as Error).message).not.toContain('\n');
  expect((err as Error).message).toMatch(/runs\/hostile\.json/);
  expect((err as Error).message).toMatch(re);
}

/** Results as a file that skipped validation would hold them (validateResults refuses these; the report checks too). */
const forged = (edit: (r: any) => void): Results => {
  const r = structuredClone(evalResults());
  edit(r);
  return r;
};

describe('hostile results in the report (issue 14)', () => {
  it('example bytes that do not match their shape in parry report are refused naming the results file and the attack/example', async () => {
    await refused(
      forged((r) => (r.attacks[1].examples[2].original = Buffer.alloc(10).toString('base64'))),
      /attack parry\/pgd, example 2.*original has 10 bytes, its shape \[8,8,1\] needs 64/,
    );
    await refused(
      forged((r) => (r.attacks[0].examples[1].perEpsilon[1].adversarial = Buffer.alloc(65).toString('base64'))),
      /attack parry\/fgsm, example 1.*adversarial at eps 0\.3 has 65 bytes/,
    );
  });

  it('an example whose shape is not an image ([64], 7 channels, 0 rows) is refused naming the file and example', async () => {
    const px = (n: number) => Buffer.alloc(n, 9).toString('base64');
    const reshape = (shape: number[]) =>
      forged((r) => {
        const x = r.attacks[0].examples[0];
        const n = shape.reduce((a: number, b: number) => a * b, 1);
        Object.assign(x, { shape, original: px(n) });
        for (const p of x.perEpsilon) p.adversarial = px(n);
      });
    await refused(reshape([64]), /attack parry\/fgsm, example 0.*shape \[64\]/);
    await refused(reshape([4, 4, 7]), /attack parry\/fgsm, example 0.*shape \[4,4,7\]/);
    await refused(reshape([0, 8, 1]), /attack parry\/fgsm, example 0.*shape \[0,8,1\]/);
  });

  it('image examples of one attack with different epsilons are refused naming the example', async () => {
    await refused(
      forged((r) => r.attacks[0].examples[1].perEpsilon.pop()),
      /attack parry\/fgsm, example 1.*1 epsilon.*2/,
    );
  });

  it('bidi controls in model name, dataset name, label names, attack names and text examples are neutralised in HTML and Markdown', async () => {
    const rlo = (s: string) => `\u202E${s}\u202C`;
    const every = [...BIDI_CONTROLS].join('');
    const image = evalResults({
      modelName: rlo('model'),
      datasetName: `data${every}set`,
      attackName: rlo('fgsm'),
      labelNames: [rlo('zero'), '\u2067one\u2069', '\u200Ftwo\u200E\u061C'],
      robust: [0.5, 0.1],
    });
    const text = structuredClone(textResults());
    const ta = text.attacks[0];
    if (ta.modality !== 'text') throw new Error('expected a text attack');
    ta.attack = `swap ${rlo('attack')}`;
    ta.examples[0].original = `a \u2066truly\u2069 wonderful ${rlo('film')}`;
    ta.examples[0].perturbed = `a \u2066truly\u2069 wondreful ${rlo('movie')}`;
    ta.examples[0].label = rlo('positive');
    ta.notes = [rlo('note')];
    text.model.labelNames = [rlo('joy'), 'anger'];
    text.model.runName = rlo('named run'); // parry eval --name: headings, tables and the text charts' legends
    text.perLabel![0].label = rlo('joy');
    const train = trainResults({ modelName: rlo('trained') });
    const { html, markdown } = await renderReport(
      [
        { file: `runs/${rlo('a')}.json`, results: image },
        { file: 'text.json', results: text },
        { file: 't.json', results: train },
      ],
      { ...opts, title: rlo('title') },
    );
    const controls = new RegExp(`[${every}]`, 'u');
    expect(html).not.toMatch(controls); // the charts' SVG included
    expect(markdown).not.toMatch(controls);
    // shown, not dropped: the reader sees that the data held a control character
    expect(html).toContain('[U+202E]model[U+202C]');
    expect(markdown).toContain('\\[U+202E\\]model\\[U+202C\\]');
    expect(html).toContain('[U+2066]truly[U+2069]');
    expect(html).toContain('[U+202E]note[U+202C]'); // text attack notes
    expect(html).toContain('<h3>[U+202E]named run[U+202C]</h3>');
    expect(html).toMatch(/<figure class="chart" id="chart-text-success">.*\[U\+202E\]named run\[U\+202C\]/s);
  });
});
