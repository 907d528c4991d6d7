/** Formats the bench results as docs/benchmarks.md and as a compact stdout summary. */
import type { AttackMeasurement, TorchAttack, TorchResult, TrainResult, VariantResult } from './bench-types.js';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  loadavgStart: number[];
  loadavgEnd: number[];
}

export interface ReportInput {
  date: string;
  command: string;
  machine: Machine;
  train: TrainResult;
  variants: VariantResult[];
  failures: Array<{ variant: string; error: string }>;
  torch?: TorchResult;
  torchFile: string;
  totalSeconds: number;
  quick: boolean;
}

/** The research note's numbers (tfjs-spike-2026-11-22.md, addendum "the small MNIST CNN"). */
export const SPIKE = {
  note: '/work/shared/research/tfjs-spike-2026-11-22.md',
  sketch1t: { fgsm: 1195, pgd: 24.3 },
  sketch2t: { fgsm: 1387, pgd: 35.4 },
  noPolyfills: { fgsm: 702, pgd: 17.9 },
  torchFactor: 8,
};

/**
 * Multiply-adds per image of the Wong CNN: forward conv1 14*14*16*16 + conv2 7*7*32*256 + dense 1568*100 + 100*10;
 * a PGD step adds the input-gradient pass, which costs the same again (weight gradients are not needed).
 */
const FORWARD_MACS = 14 * 14 * 16 * 16 + 7 * 7 * 32 * 256 + 1568 * 100 + 100 * 10;
const STEP_FLOP_PER_BATCH = 2 * 2 * FORWARD_MACS * 256;
const gflops = (stepMs: number): string => (stepMs > 0 ? (STEP_FLOP_PER_BATCH / (stepMs / 1000) / 1e9).toFixed(1) : 'n/a');

const f0 = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const rate = (v: number): string => (v >= 100 ? f0(v) : f1(v));
const la = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' / ');

function find(variants: VariantResult[], name: string, attack: 'fgsm' | 'pgd'): AttackMeasurement | undefined {
  return variants.find((v) => v.variant === name)?.attacks.find((a) => a.attack === attack && (attack === 'fgsm' || a.steps === 40));
}

function torchRate(torch: TorchResult | undefined, attack: 'fgsm' | 'pgd', oneThread = false): number | undefined {
  const results: TorchAttack[] | undefined = oneThread ? (torch?.oneThread?.results ?? undefined) : torch?.results;
  return results?.find((r) => r.attack.toLowerCase().startsWith(attack))?.imagesPerSecond;
}

/** Best Parry (wasm) rate for an attack, over the wasm variants with polyfills. */
function bestWasm(variants: VariantResult[], attack: 'fgsm' | 'pgd'): { rate: number; variant: string } | undefined {
  let best: { rate: number; variant: string } | undefined;
  for (const v of variants) {
    if (v.backend.name !== 'wasm') continue;
    const m = find(variants, v.variant, attack);
    if (m && !m.extrapolated && (!best || m.imagesPerSecond > best.rate)) best = { rate: m.imagesPerSecond, variant: v.variant };
  }
  return best;
}

export function renderMarkdown(r: ReportInput): string {
  const L: string[] = [];
  const m = r.machine;
  const main = r.variants.find((v) => v.variant === 'wasm+polyfills') ?? r.variants[0];
  L.push('# Attack benchmarks');
  L.push('');
  L.push('Written by `pnpm bench` (`apps/bench/src/bench.ts`); rerun it to refresh this file.');
  L.push('');
  L.push('FGSM and PGD-40 (Linf, eps 0.3, step 0.01, random start) on the MNIST CNN of Wong et al. 2020 (conv 16 4x4 s2, conv 32 4x4 s2, dense 100, dense 10), batch 256, through `runAttack` (so each batch also pays the shared projection, one forward pass for the success criterion and the distances).');
  if (r.quick) L.push('', '**Quick run (`--quick`): fewer images, PGD-5 and one repetition; not comparable with a full run.**');
  L.push('');
  L.push('## Setup');
  L.push('');
  L.push(`- Date: ${r.date}`);
  L.push(`- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB memory, ${m.platform}`);
  L.push(`- Node ${m.node}; ${Object.entries(main?.backend.versions ?? {}).filter(([k]) => k !== 'node').map(([k, v]) => `${k} ${v}`).join(', ')}${r.variants.some((v) => v.backend.name === 'cpu') ? `, @tensorflow/tfjs-backend-cpu ${r.variants.find((v) => v.backend.name === 'cpu')?.backend.versions['@tensorflow/tfjs-backend-cpu'] ?? '?'}` : ''}`);
  L.push(`- Load average (1/5/15 min) at start ${la(m.loadavgStart)}, at end ${la(m.loadavgEnd)} — this box has ${m.cores} cores and is shared, so a load above ~1 means the bench competed for CPU.`);
  L.push(`- Command: \`${r.command}\` (total ${f0(r.totalSeconds)} s)`);
  L.push(`- Model: trained for the bench, ${r.train.epochs} epoch(s) of Adam (cosine schedule) on the first ${f0(r.train.trainExamples)} training images of ${r.train.realMnist ? 'the real MNIST' : '**the embedded MNIST subset (the MNIST IDX files were not found)**'} in ${f1(r.train.trainSeconds)} s; test accuracy ${pct(r.train.testAccuracy)} (first 2,000 test images). Attacked images: the first test images (FGSM 1,024 = 4 batches, PGD-40 512 = 2 batches).`);
  L.push('- Each row: one warm-up batch under `tf.profile` (gives peak tensors in a batch, peakBytes, tensors left), then the median of the timed repetitions (3 on wasm, 1 on cpu). "Peak tensors" is the most live tensors after any kernel of the profiled batch (baseline: model weights, images and labels, in brackets); "at batch end" is `tf.memory().numTensors` sampled in the batch callbacks. "Leak" compares the tensor count before each repetition with the count after its result was disposed.');
  L.push('');
  L.push('## Results');
  L.push('');
  L.push('| variant | backend, threads | attack | images | images/s (median) | best rep | ms per batch | peak tensors (baseline) | at batch end | peakBytes | leak | robust acc. |');
  L.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|');
  for (const v of r.variants) {
    for (const a of v.attacks) {
      const label = a.extrapolated ? `${a.label} (extrapolated)` : a.label;
      L.push(
        `| ${v.variant} | ${v.backend.name}, ${v.backend.threads} | ${label} | ${f0(a.images)} | ${rate(a.imagesPerSecond)} | ${a.extrapolated ? '' : rate(a.bestImagesPerSecond)} | ${f0(a.msPerBatch)} | ${f0(a.profile.peakTensors)} (${a.baselineTensors}) | ${f0(a.peakTensorsAtBatchEnd)} | ${mb(a.profile.peakBytes)} | ${a.leak ? `**yes** (${a.leakedTensors.join(', ')})` : 'no'} | ${pct(a.robustAccuracy)} |`,
      );
    }
  }
  L.push('');
  L.push(`Clean accuracy on the attacked images: ${r.variants.map((v) => `${v.variant} ${pct(v.cleanAccuracy)} (${f0(v.cleanImages)} images)`).join(', ')}. Robust accuracy is 1 − success rate at eps 0.3 (an undefended CNN should be near 0% under PGD-40).`);
  for (const v of r.variants) {
    for (const a of v.attacks) if (a.extrapolated) L.push('', `${v.variant} ${a.label}: ${a.extrapolated}. Not a measured PGD-40 run.`);
  }
  L.push('');
  L.push('Polyfills per variant:');
  L.push('');
  for (const v of r.variants) L.push(`- ${v.variant}: ${v.backend.polyfills.length ? v.backend.polyfills.join(', ') : '(none)'}`);
  if (r.failures.length) {
    L.push('');
    L.push('Variants that failed:');
    L.push('');
    for (const f of r.failures) L.push(`- ${f.variant}: ${f.error}`);
  }
  L.push('');
  L.push('## Where the time goes');
  L.push('');
  L.push('`tf.profile` around one PGD step at batch 256 (`lossAndGradient` from @parry/core + sign step + Linf projection), kernel times summed by kernel name. A polyfill kernel includes the kernels it calls directly (e.g. the transposes inside the `BatchMatMul` wrapper).');
  for (const v of r.variants) {
    const s = v.step;
    L.push('');
    L.push(`### ${v.variant} (${v.backend.name}, ${v.backend.threads} thread${v.backend.threads === 1 ? '' : 's'})`);
    L.push('');
    L.push(
      `One step: ${f1(s.stepMs)} ms wall (median of unprofiled steps). Profiled (mean of ${s.profiledSteps}): ${f1(s.profiledStepMs)} ms wall, ${f1(s.kernelMs)} ms (${pct(s.kernelMs / s.profiledStepMs)}) inside ${f0(s.kernelCalls)} kernel calls, ${f1(Math.max(0, s.profiledStepMs - s.kernelMs))} ms between kernels (JS, engine, gradient tape, profiler bookkeeping).${s.scopeMs > 0 ? ` Not counted: ${f1(s.scopeMs)} ms of \`__op\` scopes (fused matMul, logSoftmax) whose kernels are listed individually.` : ''}`,
    );
    L.push('');
    L.push('| kernel | calls | total ms | share of kernel time |');
    L.push('|---|---:|---:|---:|');
    const top = s.kernels.slice(0, v.variant === 'wasm+polyfills' ? 12 : 6);
    for (const k of top) L.push(`| ${k.name} | ${f0(k.calls)} | ${f1(k.totalMs)} | ${pct(k.share)} |`);
    const rest = s.kernels.slice(top.length);
    if (rest.length) {
      L.push(`| (${rest.length} others) | ${f0(rest.reduce((q, k) => q + k.calls, 0))} | ${f1(rest.reduce((q, k) => q + k.totalMs, 0))} | ${pct(rest.reduce((q, k) => q + k.share, 0))} |`);
    }
  }
  L.push('');
  L.push('## PyTorch comparison');
  L.push('');
  L.push(
    'Superseded for speed claims by [MNIST attack speed against PyTorch, alternating runs](#mnist-attack-speed-against-pytorch-alternating-runs) below (`pnpm bench:mnist-torch`: Parry and PyTorch alternating in one session at 1 and 2 threads, issue 17); the figures here are kept as the earlier single-session measurement.',
  );
  L.push('');
  const tf1 = find(r.variants, 'wasm+polyfills', 'fgsm');
  const tp1 = find(r.variants, 'wasm+polyfills', 'pgd');
  if (r.torch) {
    const t = r.torch;
    L.push(`Measured with \`scripts/bench-torch.py\` (PyTorch ${t.torch}, CPU, torch.set_num_threads(${t.threads}), batch ${t.batchSize}, ${t.data ?? 'same model shape'}${t.date ? `, ${t.date}` : ''}${t.loadavg ? `, load average at start ${la(t.loadavg)}` : ''}); read from \`${r.torchFile}\`.`);
    L.push('');
    const busy = Math.max(t.loadavg?.[0] ?? 0, r.machine.loadavgStart[0] ?? 0) > 0.5 * r.machine.cores;
    if (busy || !t.alternating) {
      L.push(
        `**Not a claim.** ${busy ? `These figures were taken on a busy machine (load average above half the ${r.machine.cores} cores), ` : ''}${!t.alternating ? `${busy ? 'and ' : ''}PyTorch and Parry were not run alternately in one session, ` : ''}so the ratios below say nothing about relative speed. A fair comparison runs both alternately in one idle session at 1 and 2 threads, with OpenBLAS for torch (Debian: \`libopenblas0-pthread\`).`,
      );
      L.push('');
    }
    const has1 = !!t.oneThread?.results?.length;
    L.push(`| attack | PyTorch ${t.threads} threads img/s${has1 ? ' | PyTorch 1 thread img/s' : ''} | Parry wasm+polyfills (1 thread) img/s | Parry / PyTorch ${t.threads} threads | best Parry variant img/s |`);
    L.push(`|---|---:|${has1 ? '---:|' : ''}---:|---:|---:|`);
    for (const [attack, label] of [['fgsm', 'FGSM'], ['pgd', 'PGD-40']] as const) {
      const torch = torchRate(t, attack);
      const torch1 = torchRate(t, attack, true);
      const parry = attack === 'fgsm' ? tf1 : tp1;
      const best = bestWasm(r.variants, attack);
      L.push(
        `| ${label} | ${torch ? rate(torch) : 'n/a'}${has1 ? ` | ${torch1 ? rate(torch1) : 'n/a'}` : ''} | ${parry ? rate(parry.imagesPerSecond) : 'n/a'} | ${torch && parry ? `${(parry.imagesPerSecond / torch).toFixed(2)}x` : 'n/a'} | ${best ? `${rate(best.rate)} (${best.variant}${torch ? `, ${(best.rate / torch).toFixed(2)}x` : ''})` : 'n/a'} |`,
      );
    }
    if (t.stepMs) {
      L.push('', `One PGD step at batch 256 (${(STEP_FLOP_PER_BATCH / 1e6).toFixed(0)} MFLOP: forward plus input-gradient pass): PyTorch ${f1(t.stepMs)} ms at ${t.threads} threads (${gflops(t.stepMs)} GFLOP/s)${t.oneThread?.stepMs ? `, ${f1(t.oneThread.stepMs)} ms at 1 thread (${gflops(t.oneThread.stepMs)} GFLOP/s)` : ''}, Parry wasm+polyfills ${main ? `${f1(main.step.stepMs)} ms (${gflops(main.step.stepMs)} GFLOP/s)` : 'n/a'}.`);
    }
  } else {
    L.push(`Not re-measured (no \`${r.torchFile}\`; run \`python3 scripts/bench-torch.py\` with PyTorch installed, then \`pnpm bench\`). The research note (${SPIKE.note}, addendum) reports that PyTorch 1.13 CPU (Debian, OpenBLAS, 2 threads) ran this attack about ${SPIKE.torchFactor}x faster than the earlier tfjs sketch at 1 thread (FGSM ${f0(SPIKE.sketch1t.fgsm)} img/s, PGD-40 ${SPIKE.sketch1t.pgd} img/s), i.e. roughly ${f0(SPIKE.sketch1t.fgsm * SPIKE.torchFactor)} and ${f0(SPIKE.sketch1t.pgd * SPIKE.torchFactor)} img/s.`);
  }
  L.push('');
  L.push(`For reference, the research note's tfjs sketch: FGSM ${f0(SPIKE.sketch1t.fgsm)} / PGD-40 ${SPIKE.sketch1t.pgd} img/s (sketch polyfills, 1 thread), ${f0(SPIKE.sketch2t.fgsm)} / ${SPIKE.sketch2t.pgd} (2 threads), ${f0(SPIKE.noPolyfills.fgsm)} / ${SPIKE.noPolyfills.pgd} (no polyfills).`);
  L.push('');
  L.push('## Interpretation');
  L.push('');
  L.push(interpret(r));
  L.push('');
  return L.join('\n');
}

function interpret(r: ReportInput): string {
  const main = r.variants.find((v) => v.variant === 'wasm+polyfills');
  const noPerf = r.variants.find((v) => v.variant === 'wasm-no-perf-polyfills');
  const two = r.variants.find((v) => v.variant === 'wasm+polyfills-2threads');
  const cpu = r.variants.find((v) => v.variant === 'cpu');
  const s: string[] = [];
  if (!main) return 'The main variant (wasm+polyfills) did not run, so there is nothing to interpret.';
  const fg = find(r.variants, 'wasm+polyfills', 'fgsm');
  const pg = find(r.variants, 'wasm+polyfills', 'pgd');
  const top = main.step.kernels.slice(0, 3);
  const st = main.step;
  const between = Math.max(0, st.profiledStepMs - st.kernelMs);
  s.push(
    `On wasm with the polyfills (1 thread) Parry attacks at ${fg ? rate(fg.imagesPerSecond) : 'n/a'} img/s with FGSM and ${pg ? rate(pg.imagesPerSecond) : 'n/a'} img/s with PGD-40; one PGD step at batch 256 takes ${f1(st.stepMs)} ms (~${gflops(st.stepMs)} GFLOP/s effective), and in the profiled step ${pct(st.kernelMs / st.profiledStepMs)} of the time is inside kernels, led by ${top.map((k) => `${k.name} (${pct(k.share)})`).join(', ')}, with ~${f1(between)} ms (${pct(between / st.profiledStepMs)}) spent between kernels in JS, the engine and the gradient tape.`,
  );
  if (noPerf) {
    const a = find(r.variants, 'wasm-no-perf-polyfills', 'pgd');
    const b = noPerf.step.kernels[0];
    if (a && pg) s.push(`Without the performance polyfills PGD-40 drops to ${rate(a.imagesPerSecond)} img/s (${(pg.imagesPerSecond / a.imagesPerSecond).toFixed(1)}x slower${b ? `; ${b.name} alone takes ${pct(b.share)} of the kernel time there` : ''}), so the matMul and conv-input-gradient replacements are what make the attack usable.`);
  }
  if (two) {
    const a = find(r.variants, 'wasm+polyfills-2threads', 'pgd');
    if (a && pg) s.push(`Two XNNPACK threads give ${rate(a.imagesPerSecond)} img/s for PGD-40 (${(a.imagesPerSecond / pg.imagesPerSecond).toFixed(2)}x the 1-thread figure) at load average ${la(two.loadavgStart)}: only the conv/matMul kernels are threaded, and on a shared 2-core box the second core is often busy.`);
  }
  if (cpu) {
    const a = find(r.variants, 'cpu', 'fgsm');
    if (a && fg) s.push(`The pure-JS cpu backend is ${(fg.imagesPerSecond / a.imagesPerSecond).toFixed(0)}x slower than wasm on FGSM (${rate(a.imagesPerSecond)} img/s), so it is only a fallback.`);
  }
  const torchPgd = torchRate(r.torch, 'pgd');
  const torchFgsm = torchRate(r.torch, 'fgsm');
  const torchPgd1 = torchRate(r.torch, 'pgd', true);
  const best = bestWasm(r.variants, 'pgd');
  if (torchPgd && best) {
    // compare with the faster PyTorch setting: on a loaded 2-core box its 2-thread OpenMP run can collapse
    const useOne = torchPgd1 !== undefined && torchPgd1 > torchPgd;
    const ref = useOne ? torchPgd1! : torchPgd;
    const refLabel = `PyTorch ${r.torch!.torch} CPU at ${useOne ? '1 thread' : `${r.torch!.threads} threads`} (${rate(ref)} img/s, the faster of its ${torchPgd1 ? '1- and 2-thread runs' : 'runs'})`;
    const ratio = best.rate / ref;
    const busy = Math.max(r.torch!.loadavg?.[0] ?? 0, r.machine.loadavgStart[0] ?? 0) > 0.5 * r.machine.cores;
    s.push(
      busy || !r.torch!.alternating
        ? `Against ${refLabel} the best Parry configuration (${best.variant}) ran PGD-40 at ${ratio.toFixed(2)}x, which, measured ${busy ? 'on a busy machine' : 'without alternating runs'}, is not evidence either way about the target (at least as fast as PyTorch CPU).`
        : ratio >= 1
        ? `Against ${refLabel} the best Parry configuration (${best.variant}) runs PGD-40 at ${ratio.toFixed(2)}x${torchFgsm ? `, and FGSM at ${(bestWasm(r.variants, 'fgsm')!.rate / Math.max(torchFgsm, torchRate(r.torch, 'fgsm', true) ?? 0)).toFixed(2)}x` : ''}, so on this run the target (at least as fast as PyTorch CPU) is met${ratio < 1.3 ? ', but by a margin that load noise on this shared box can erase' : ''}.`
        : `Against ${refLabel} the best Parry configuration (${best.variant}) reaches ${pct(ratio)} on PGD-40, so the target (at least as fast as PyTorch CPU) is missed; closing the gap needs faster conv/matMul kernels (above all the strided conv input gradient) or less per-op overhead, not attack code.`,
    );
    const tl = r.torch!.loadavg?.[0];
    if (tl !== undefined && tl > r.machine.cores) {
      s.push(`PyTorch was measured at load average ${tl.toFixed(1)} on ${r.machine.cores} cores, where its 2-thread runs suffer most; rerun \`scripts/bench-torch.py\` and the bench on an idle box for a fair 2-thread figure.`);
    }
  } else if (best) {
    const est = SPIKE.sketch1t.pgd * SPIKE.torchFactor;
    s.push(`PyTorch was not re-measured; against the research note's estimate (~${f0(est)} img/s for PGD-40, 8x the sketch) the best Parry configuration reaches ${pct(best.rate / est)} of the target.`);
  }
  if (main.attacks.some((a) => a.leak)) s.push('Some runs leaked tensors (see the table): that must be fixed before these numbers are trusted.');
  else s.push('No run leaked tensors.');
  if (Math.max(...r.machine.loadavgStart.slice(0, 1), ...r.machine.loadavgEnd.slice(0, 1)) > 1.5) {
    s.push(`The load average (${la(r.machine.loadavgStart)} at start) shows other work on the box, so the absolute numbers are pessimistic.`);
  }
  return s.join(' ');
}

export function renderSummary(r: ReportInput): string {
  const L: string[] = [];
  L.push(`parry bench — ${r.date} — ${r.machine.cpuModel} x${r.machine.cores}, node ${r.machine.node}, load ${la(r.machine.loadavgStart)}`);
  for (const v of r.variants) {
    const parts = v.attacks.map((a) => `${a.label}${a.extrapolated ? '~' : ''} ${rate(a.imagesPerSecond)} img/s${a.leak ? ' LEAK' : ''}`);
    L.push(`  ${v.variant.padEnd(24)} ${parts.join(' | ')} | step ${f1(v.step.stepMs)} ms`);
  }
  for (const f of r.failures) L.push(`  ${f.variant.padEnd(24)} FAILED: ${f.error}`);
  const torchPgd = torchRate(r.torch, 'pgd');
  const torchFgsm = torchRate(r.torch, 'fgsm');
  if (r.torch) L.push(`  ${`pytorch ${r.torch.torch}`.padEnd(24)} FGSM ${torchFgsm ? rate(torchFgsm) : 'n/a'} img/s | PGD-40 ${torchPgd ? rate(torchPgd) : 'n/a'} img/s (${r.torch.threads} threads)${torchRate(r.torch, 'pgd', true) ? `; 1 thread FGSM ${rate(torchRate(r.torch, 'fgsm', true) ?? NaN)} | PGD-40 ${rate(torchRate(r.torch, 'pgd', true) ?? NaN)}` : ''}`);
  else L.push(`  pytorch not re-measured (research note: ~${SPIKE.torchFactor}x the sketch's ${SPIKE.sketch1t.pgd} img/s PGD-40)`);
  return L.join('\n');
}
