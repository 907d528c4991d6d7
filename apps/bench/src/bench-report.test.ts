import { describe, expect, it } from 'vitest';
import { type ReportInput, renderMarkdown, renderSummary } from './bench-report.js';
import type { AttackMeasurement, StepProfile, VariantResult } from './bench-types.js';

const step: StepProfile = {
  stepMs: 40,
  profiledStepMs: 50,
  kernelMs: 40,
  scopeMs: 1,
  kernels: [
    { name: 'Conv2DBackpropInput', calls: 1, totalMs: 20, share: 0.5 },
    { name: 'Conv2D', calls: 2, totalMs: 20, share: 0.5 },
  ],
  kernelCalls: 3,
  profiledSteps: 3,
};

function attack(a: 'fgsm' | 'pgd', steps: number, ips: number): AttackMeasurement {
  return {
    attack: a,
    label: a === 'fgsm' ? 'FGSM' : `PGD-${steps}`,
    steps,
    images: 512,
    batchSize: 256,
    batches: 2,
    reps: 3,
    repMs: [1000, 1000, 1000],
    medianMs: 1000,
    imagesPerSecond: ips,
    bestImagesPerSecond: ips,
    msPerBatch: 500,
    peakTensorsAtBatchEnd: 12,
    baselineTensors: 10,
    profile: { peakTensors: 40, peakBytes: 2 ** 20, newTensors: 0, newBytes: 0, kernels: 30 },
    leakedTensors: [0, 0, 0],
    leak: false,
    robustAccuracy: 0,
  };
}

const variant: VariantResult = {
  kind: 'variant',
  variant: 'wasm+polyfills',
  backend: { name: 'wasm', threads: 1, polyfills: ['BatchMatMul'], versions: { '@tensorflow/tfjs-core': '4.22.0' } },
  cleanAccuracy: 0.98,
  cleanImages: 1024,
  attacks: [attack('fgsm', 1, 2000), attack('pgd', 40, 50)],
  step,
  seconds: 30,
  loadavgStart: [0.5, 0.5, 0.5],
  loadavgEnd: [0.5, 0.5, 0.5],
};

const input = (quick: boolean): ReportInput => ({
  date: '2026-12-06T00:00:00.000Z',
  command: 'pnpm bench (node apps/bench/dist/bench.js)',
  machine: { cpuModel: 'test cpu', cores: 2, memoryGiB: 8, node: 'v20.19.0', platform: 'linux', loadavgStart: [0.5, 0.5, 0.5], loadavgEnd: [0.5, 0.5, 0.5] },
  train: {
    kind: 'train',
    modelDir: '/tmp/m',
    dataSource: 'MNIST IDX (/data)',
    realMnist: true,
    trainExamples: 10_000,
    epochs: 1,
    trainSeconds: 10,
    testAccuracy: 0.95,
    backend: variant.backend,
  },
  variants: [variant],
  failures: [],
  torchFile: 'docs/bench-torch.json',
  totalSeconds: 100,
  quick,
});

describe('bench report', () => {
  it('keeps the sections and the results table of docs/benchmarks.md', () => {
    const md = renderMarkdown(input(false));
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings).toEqual(['# Attack benchmarks', '## Setup', '## Results', '## Where the time goes', '### wasm+polyfills (wasm, 1 thread)', '## PyTorch comparison', '## Interpretation']);
    expect(md).toContain('Written by `pnpm bench` (`apps/bench/src/bench.ts`); rerun it to refresh this file.');
    expect(md).toContain('| variant | backend, threads | attack | images | images/s (median) | best rep | ms per batch | peak tensors (baseline) | at batch end | peakBytes | leak | robust acc. |');
    expect(md).toContain('| wasm+polyfills | wasm, 1 | PGD-40 | 512 | 50.0 | 50.0 | 500 | 40 (10) | 12 | 1.0 MB | no | 0.0% |');
    // the old single-session PyTorch table points to the alternating measurement (mnist-vs-torch.mjs, issue 17)
    expect(md).toContain('](#mnist-attack-speed-against-pytorch-alternating-runs) below (`pnpm bench:mnist-torch`');
    expect(md).not.toContain('Quick run');
    expect(renderMarkdown(input(true))).toContain('**Quick run (`--quick`): fewer images, PGD-5 and one repetition; not comparable with a full run.**');
  });

  it('prints one summary line per variant', () => {
    const lines = renderSummary(input(false)).split('\n');
    expect(lines[1]).toBe('  wasm+polyfills           FGSM 2,000 img/s | PGD-40 50.0 img/s | step 40.0 ms');
  });
});
