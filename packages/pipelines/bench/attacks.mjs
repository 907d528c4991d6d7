#!/usr/bin/env node
/**
 * Attack-suite benchmark: every attack of @parry/attacks on the short-trained MNIST CNN (the Wong et al. 2020 CNN,
 * 1 epoch of Adam, cosine schedule, batch 64, lr 2e-3, seed 0, on the first 10,000 training images of real MNIST —
 * the model of the FGSM/PGD benchmark), attacking the first 1,000 test digits at eps 0.3 (linf) and 2.0 (l2):
 * robust accuracy, mean perturbation size of the successful examples, wall time; AutoAttack's accuracy after each stage.
 *
 *   pnpm build && pnpm bench:attacks             # everything, then the docs section
 *   node packages/pipelines/bench/attacks.mjs --limit 200 --only apgd,autoattack   # a subset (docs untouched)
 *
 * Results are cached per row in runs/bench-attacks/*.json so that an interrupted run continues; `--fresh` ignores the
 * cache. Only the section between `<!-- attacks:start -->` and `<!-- attacks:end -->` in docs/benchmarks.md is
 * replaced (appended if missing). Data: PARRY_DATA_DIR or ../shared/data/mnist (exits with a message if absent).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { distance, fromLayersModel, initBackend, mnistCnn, runAttack, untargeted, disposeAttackResult } from '@parry/core';
import { loadMnistIdx, toTensors } from '@parry/datasets';
import { trainClassifier } from '@parry/defenses';
import * as A from '@parry/attacks';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.resolve(process.env.PARRY_DATA_DIR ?? path.join(root, '../shared/data/mnist'));
const work = path.join(root, 'runs/bench-attacks');
const docs = path.join(root, 'docs/benchmarks.md');
const START = '<!-- attacks:start -->';
const END = '<!-- attacks:end -->';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const limit = Number(flag('--limit') ?? 1000);
const only = flag('--only')?.split(',');
const fresh = argv.includes('--fresh');
const full = limit === 1000 && !only;

/** id -> [label, factory() , eps, norm, note]; minimization attacks run unbounded and are scored at eps. */
const ROWS = [
  ['fgsm', 'FGSM', () => A.fgsm(), 0.3],
  ['pgd', 'PGD-40 (step 0.01, random start)', () => A.pgd(), 0.3],
  ['bim', 'BIM (Kurakin: 80 steps of 1/255)', () => A.bim(), 0.3],
  ['mim', 'MIM (10 steps, mu 1)', () => A.mim(), 0.3],
  ['apgd-ce', 'APGD-CE (100 steps)', () => A.apgd(), 0.3],
  ['apgd-dlr', 'APGD-DLR (100 steps)', () => A.apgd({ loss: 'dlr' }), 0.3],
  ['apgd-t', 'APGD-T (100 steps, 9 targets)', () => A.apgdT(), 0.3],
  ['fab-t', 'FAB-T (100 steps, 9 targets; min-norm)', () => A.fabT(), 0.3],
  ['square', 'Square (5,000 queries, AutoAttack reference search)', () => A.square(), 0.3],
  ['deepfool-linf', 'DeepFool linf (50 steps, overshoot 0.02; min-norm)', () => A.deepfool({ norm: 'linf' }), 0.3],
  ['autoattack', 'AutoAttack standard', () => A.autoAttack(), 0.3],
  ['fgm-l2', 'FGM (l2)', () => A.fgsm({ norm: 'l2' }), 2.0],
  ['pgd-l2', 'PGD-40 l2 (step 0.05, random start)', () => A.pgd({ norm: 'l2' }), 2.0],
  ['bim-l2', 'BIM l2 (10 steps of eps/4)', () => A.bim({ norm: 'l2' }), 2.0],
  ['mim-l2', 'MIM l2 (10 steps, mu 1)', () => A.mim({ norm: 'l2' }), 2.0],
  ['apgd-ce-l2', 'APGD-CE l2 (100 steps)', () => A.apgd({ norm: 'l2' }), 2.0],
  ['apgd-t-l2', 'APGD-T l2 (100 steps, 9 targets)', () => A.apgdT({ norm: 'l2' }), 2.0],
  ['fab-t-l2', 'FAB-T l2 (100 steps, 9 targets; min-norm)', () => A.fabT({ norm: 'l2' }), 2.0],
  ['square-l2', 'Square l2 (5,000 queries, AutoAttack reference search)', () => A.square({ norm: 'l2' }), 2.0],
  ['deepfool-l2', 'DeepFool l2 (50 steps, overshoot 0.02; min-norm)', () => A.deepfool(), 2.0],
  ['cw', 'C&W-L2 (5 x 100 Adam steps, lr 0.1, c from 10; min-norm)', () => A.carliniWagnerL2({ binarySearchSteps: 5, steps: 100, learningRate: 0.1, initialConst: 10 }), 2.0],
  ['autoattack-l2', 'AutoAttack standard l2', () => A.autoAttack({ norm: 'l2' }), 2.0],
];

function log(msg) {
  process.stderr.write(`[bench:attacks] ${msg}\n`);
}

async function main() {
  if (!fs.existsSync(dataDir)) {
    log(`no MNIST IDX files in ${dataDir} (set PARRY_DATA_DIR); skipping the attack benchmark`);
    return;
  }
  fs.mkdirSync(work, { recursive: true });
  const info = await initBackend({ backend: 'wasm', polyfills: true, threads: 1 });
  const data = loadMnistIdx(dataDir, { limit: 10000 });
  const train = toTensors(data.train, 0, 10000);
  const test = toTensors(data.test, 0, limit);
  const layers = mnistCnn({ seed: 0 });
  const model = fromLayersModel(layers, { bounds: [0, 1] });
  const t0 = performance.now();
  await trainClassifier(model, train, { epochs: 1, batchSize: 64, learningRate: 2e-3, seed: 0, schedule: 'cosine' });
  const trainSeconds = (performance.now() - t0) / 1000;
  tf.dispose([train.x, train.y]);
  const cleanT = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.logits(test.x), 1), test.y), 'float32')));
  const clean = (await cleanT.data())[0];
  cleanT.dispose();
  log(`trained in ${trainSeconds.toFixed(1)} s; clean accuracy ${(clean * 100).toFixed(1)}% on the first ${limit} test digits`);
  const c = untargeted(test.y);
  const results = [];
  for (const [id, label, make, eps] of ROWS) {
    if (only && !only.includes(id)) continue;
    const cache = path.join(work, `${id}-${limit}.json`);
    if (!fresh && full && fs.existsSync(cache)) {
      results.push(JSON.parse(fs.readFileSync(cache, 'utf8')));
      log(`${id}: cached`);
      continue;
    }
    const attack = make();
    const load = os.loadavg()[0];
    const start = performance.now();
    let row;
    if (id.startsWith('autoattack')) {
      const r = await A.runAutoAttack(model, test.x, c, { ...attack.options, epsilon: eps, seed: 0, onStage: (s) => log(`${id}: ${s.attack} -> ${(s.robustAccuracy * 100).toFixed(1)}% (${(s.wallTimeMs / 1000).toFixed(1)} s)`) });
      const ok = Array.from(await r.success.data());
      const distT = distance(attack.norm, test.x, r.adversarial);
      const dist = Array.from(await distT.data());
      distT.dispose();
      row = { ok, dist, stages: r.stages.map((s) => ({ attack: s.attack, robustAccuracy: s.robustAccuracy, seconds: s.wallTimeMs / 1000 })) };
      tf.dispose([r.adversarial, r.success]);
    } else {
      const r = await runAttack(attack, model, test.x, c, { epsilons: attack.mode === 'fixed-epsilon' ? [eps] : [], seed: 0, batchSize: 256 });
      const ok = Array.from(await r.perEpsilon[0].success.data());
      const dist = Array.from(await r.perEpsilon[0].distance.data());
      row = { ok, dist, counters: r.counters };
      disposeAttackResult(r);
    }
    const seconds = (performance.now() - start) / 1000;
    // minimization attacks: success at eps means success with a perturbation within eps
    const within = row.ok.map((v, i) => Boolean(v) && row.dist[i] <= eps + 1e-6);
    const okDist = row.dist.filter((_, i) => row.ok[i]);
    const res = {
      id,
      label,
      norm: attack.norm,
      mode: attack.mode,
      eps,
      robustAccuracy: within.filter((v) => !v).length / limit,
      successRate: row.ok.filter(Boolean).length / limit,
      meanPerturbation: okDist.length ? okDist.reduce((a, b) => a + b, 0) / okDist.length : null,
      medianPerturbation: okDist.length ? [...okDist].sort((a, b) => a - b)[Math.floor(okDist.length / 2)] : null,
      seconds,
      loadAverage: load,
      stages: row.stages,
      options: attack.options,
    };
    log(`${id}: robust ${(res.robustAccuracy * 100).toFixed(1)}%, mean perturbation ${res.meanPerturbation?.toFixed(3)}, ${seconds.toFixed(1)} s`);
    if (full) fs.writeFileSync(cache, JSON.stringify(res, null, 1));
    results.push(res);
  }
  if (!full) {
    log('a subset run (--limit/--only): docs/benchmarks.md left unchanged');
    return;
  }
  writeDocs({ info, clean, trainSeconds, results });
  tf.dispose([test.x, test.y]);
  layers.dispose();
}

const pct = (v) => `${(v * 100).toFixed(1)}%`;

function writeDocs({ info, clean, trainSeconds, results }) {
  const cpu = os.cpus();
  const lines = [
    START,
    '## The attack suite (`pnpm bench:attacks`)',
    '',
    `Written by \`packages/attacks/bench/attacks.mjs\` on ${new Date().toISOString()}: ${cpu[0]?.model.trim() ?? 'cpu'}, ${cpu.length} cores (shared; load average at start ${os.loadavg().map((v) => v.toFixed(1)).join(' / ')}), Node ${process.version}, backend ${info.name} (${info.threads} thread).`,
    '',
    `Model: the Wong et al. 2020 MNIST CNN trained for 1 epoch (Adam 2e-3, cosine, batch 64, seed 0) on the first 10,000 training images of real MNIST in ${trainSeconds.toFixed(1)} s. Attacked: the first 1,000 test digits (clean accuracy ${pct(clean)}), untargeted, seed 0, batches of 256.`,
    '',
    'Robust accuracy counts an example as broken only if the attack found an adversarial within eps (minimization attacks run without a bound and are then scored at eps). Mean / median perturbation: the attack\'s norm over the successful examples (for minimization attacks: the smallest perturbation found, even beyond eps). Wall time includes the shared projection and success check; the machine is shared, so times are indicative (see the load average column).',
    '',
    '| attack | norm | eps | robust acc. | success rate | mean pert. | median pert. | wall time | load avg |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.label} | ${r.norm} | ${r.eps} | ${pct(r.robustAccuracy)} | ${pct(r.successRate)} | ${r.meanPerturbation?.toFixed(3) ?? '-'} | ${r.medianPerturbation?.toFixed(3) ?? '-'} | ${r.seconds.toFixed(1)} s | ${r.loadAverage.toFixed(1)} |`),
    '',
  ];
  for (const r of results.filter((q) => q.stages)) {
    lines.push(`AutoAttack standard (${r.norm}, eps ${r.eps}) — robust accuracy after each stage (each stage attacks only the examples still robust):`, '');
    lines.push('| stage | robust acc. | stage wall time |', '|---|---:|---:|');
    for (const s of r.stages) lines.push(`| ${s.attack} | ${pct(s.robustAccuracy)} | ${s.seconds.toFixed(1)} s |`);
    lines.push('');
  }
  lines.push('Deviations from the papers\' defaults in this table: C&W runs 5 binary-search steps of 100 Adam steps at learning rate 0.1 from c = 10 (paper: 9 x 10,000 at 0.01 from 1e-3), to fit the time box; every other attack runs at its defaults, which are the papers\'.', END);
  const section = lines.join('\n');
  const old = fs.existsSync(docs) ? fs.readFileSync(docs, 'utf8') : '# Benchmarks\n';
  const next = old.includes(START) && old.includes(END) ? old.slice(0, old.indexOf(START)) + section + old.slice(old.indexOf(END) + END.length) : `${old.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(docs, next);
  log(`wrote ${path.relative(root, docs)}`);
}

await main();
