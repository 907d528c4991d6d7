import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { type Run, imageAttacksOf, textAttacksOf } from './model.js';

/** A chart: its Vega-Lite spec (kept for readers who want to re-plot) and the SVG rendered from it at build time. */
export interface Chart {
  id: string;
  title: string;
  spec: TopLevelSpec;
}

const WIDTH = 460;
const HEIGHT = 260;
const CONFIG = { font: 'system-ui, sans-serif', view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, labelLimit: 0 } }; // labelLimit 0: run names are never truncated

/** Compile a Vega-Lite spec and render it to an SVG string in Node, with no canvas, no DOM and no network. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const seriesName = (runs: Run[], run: Run, name: string) => (runs.length > 1 ? `${run.title} · ${name}` : name);

/** Robust accuracy vs epsilon, one line per image attack (and run); epsilon 0 is the clean accuracy. Text attacks have no epsilon: they are in the tables. */
export function robustnessChart(runs: Run[]): Chart | undefined {
  const values: { series: string; epsilon: number; accuracy: number }[] = [];
  for (const run of runs) {
    for (const a of imageAttacksOf(run)) {
      const series = seriesName(runs, run, `${a.attack} (${a.norm})`);
      values.push({ series, epsilon: 0, accuracy: a.cleanAccuracy });
      for (const e of a.perEpsilon) if (e.epsilon !== null) values.push({ series, epsilon: e.epsilon, accuracy: e.robustAccuracy });
    }
  }
  if (values.length === 0) return undefined;
  return {
    id: 'chart-robustness',
    title: 'Robust accuracy vs epsilon',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      description: 'Robust accuracy against perturbation budget for each attack',
      width: WIDTH,
      height: HEIGHT,
      config: CONFIG,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epsilon', type: 'quantitative', title: 'epsilon' },
        y: { field: 'accuracy', type: 'quantitative', title: 'robust accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
        color: { field: 'series', type: 'nominal', title: 'attack', legend: { orient: 'bottom', columns: 1 } },
      },
    },
  };
}

/**
 * Perturbation sizes of the successful adversarials per attack and epsilon: box plots of the per-example sizes when
 * the results carry them, else the mean (point) and max (tick) from the summary.
 */
export function sizeCharts(runs: Run[]): Chart[] {
  const charts: Chart[] = [];
  for (const normName of ['linf', 'l2'] as const) {
    const label = normName === 'linf' ? 'Linf' : 'L2';
    const perExample: { group: string; size: number }[] = [];
    const summary: { group: string; stat: string; size: number }[] = [];
    for (const run of runs) {
      for (const a of imageAttacksOf(run)) {
        for (const e of a.perEpsilon) {
          const group = seriesName(runs, run, `${a.attack} @ ${e.epsilon === null ? 'unbounded' : e.epsilon}`);
          const sizes = e.sizes?.[normName];
          if (sizes) for (const size of sizes) perExample.push({ group, size });
          const s = e[normName];
          if (!sizes && s) summary.push({ group, stat: 'mean', size: s.mean }, { group, stat: 'max', size: s.max });
        }
      }
    }
    if (perExample.length === 0 && summary.length === 0) continue;
    const y = { field: 'group', type: 'nominal' as const, title: null, sort: null, axis: { labelLimit: 260 } };
    const x = { field: 'size', type: 'quantitative' as const, title: `${label} distance to the clean input` };
    charts.push({
      id: `chart-size-${normName}`,
      title: `${label} perturbation size of successful adversarials`,
      spec: perExample.length
        ? {
            $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
            description: `Distribution of ${label} perturbation sizes per attack and epsilon`,
            width: WIDTH,
            config: CONFIG,
            data: { values: perExample },
            mark: { type: 'boxplot', extent: 'min-max' },
            encoding: { y, x },
          }
        : {
            $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
            description: `Mean and max ${label} perturbation size per attack and epsilon`,
            width: WIDTH,
            config: CONFIG,
            data: { values: summary },
            mark: { type: 'point', filled: true },
            encoding: { y, x, shape: { field: 'stat', type: 'nominal', title: 'statistic' }, color: { field: 'stat', type: 'nominal', title: 'statistic' } },
          },
    });
  }
  return charts;
}

/** Loss and accuracies (train, held-out, robust when recorded) per epoch for every run that has a training file. */
export function trainingCharts(runs: Run[]): Chart[] {
  const acc: { series: string; epoch: number; accuracy: number }[] = [];
  const loss: { series: string; epoch: number; loss: number }[] = [];
  for (const run of runs) {
    for (const e of run.train?.training?.epochs ?? []) {
      loss.push({ series: seriesName(runs, run, 'loss'), epoch: e.epoch, loss: e.loss });
      if (e.trainAccuracy !== undefined) acc.push({ series: seriesName(runs, run, 'train acc'), epoch: e.epoch, accuracy: e.trainAccuracy });
      acc.push({ series: seriesName(runs, run, 'held-out acc'), epoch: e.epoch, accuracy: e.testAccuracy });
      if (e.robustAccuracy !== undefined) acc.push({ series: seriesName(runs, run, 'robust acc'), epoch: e.epoch, accuracy: e.robustAccuracy });
      if (e.macroF1 !== undefined) acc.push({ series: seriesName(runs, run, 'held-out macro-F1'), epoch: e.epoch, accuracy: e.macroF1 });
    }
  }
  if (acc.length === 0) return [];
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: WIDTH, height: 220, config: CONFIG, mark: { type: 'line' as const, point: true } };
  const x = { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1 } };
  const color = { field: 'series', type: 'nominal' as const, title: null, legend: { orient: 'bottom' as const, columns: 1 } };
  return [
    {
      id: 'chart-training-accuracy',
      title: 'Accuracy per epoch',
      spec: { ...base, description: 'Train, held-out and robust accuracy per epoch', data: { values: acc }, encoding: { x, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format: '.0%' } }, color } },
    },
    {
      id: 'chart-training-loss',
      title: 'Training loss per epoch',
      spec: { ...base, description: 'Mean training loss per epoch', data: { values: loss }, encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } }, color } },
    },
  ];
}

/**
 * Text attacks have no epsilon: per attack and run, the attack success rate, and the accuracy under attack next to
 * the clean accuracy, as grouped horizontal bars (one bar per run, named in full in the legend).
 */
export function textCharts(runs: Run[]): Chart[] {
  const success: { attack: string; run: string; value: number }[] = [];
  const accuracy: { attack: string; run: string; value: number }[] = [];
  for (const run of runs) {
    const attacks = textAttacksOf(run);
    if (!attacks.length) continue;
    accuracy.push({ attack: 'clean (no attack)', run: run.title, value: attacks[0].cleanAccuracy });
    for (const a of attacks) {
      success.push({ attack: a.attack, run: run.title, value: a.attackSuccessRate });
      accuracy.push({ attack: a.attack, run: run.title, value: a.robustAccuracy });
    }
  }
  if (success.length === 0) return [];
  const bars = (id: string, title: string, description: string, values: typeof success, axis: string): Chart => {
    return {
      id,
      title,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        description,
        width: WIDTH,
        height: { step: 14 }, // one bar per run and attack
        config: CONFIG,
        data: { values },
        mark: { type: 'bar', tooltip: false },
        encoding: {
          y: { field: 'attack', type: 'nominal', title: null, sort: null, axis: { labelLimit: 0 } },
          yOffset: { field: 'run', type: 'nominal', sort: null },
          x: { field: 'value', type: 'quantitative', title: axis, scale: { domain: [0, 1] }, axis: { format: '.0%' } },
          color: { field: 'run', type: 'nominal', title: 'run', sort: null, legend: { orient: 'bottom', columns: 1 } },
        },
      } as TopLevelSpec,
    };
  };
  return [
    bars('chart-text-success', 'Attack success rate per text attack and run', 'Share of attacked examples the attack fooled, per attack and run', success, 'attack success rate'),
    bars('chart-text-accuracy', 'Accuracy under attack per text attack and run', 'Clean accuracy and accuracy under each text attack, per run', accuracy, 'accuracy'),
  ];
}

/** Robust accuracy over versions of one model (runs sharing a name, oldest first), one line per attack. */
export function versionCharts(groups: { name: string; runs: Run[] }[]): Chart[] {
  return groups.map((g, gi) => {
    const values: { version: string; series: string; accuracy: number }[] = [];
    g.runs.forEach((run, i) => {
      const version = `v${i + 1} ${run.first.createdAt.slice(0, 10)}`;
      const clean = run.evals.find((e) => e.clean)?.clean?.accuracy ?? run.evals.flatMap((e) => e.attacks)[0]?.cleanAccuracy;
      if (clean !== undefined) values.push({ version, series: 'clean', accuracy: clean });
      for (const a of run.evals.flatMap((e) => e.attacks)) {
        if (a.modality === 'text') values.push({ version, series: a.attack, accuracy: a.robustAccuracy });
        else {
          const e = [...a.perEpsilon].filter((p) => p.epsilon !== null).sort((x, y) => x.epsilon! - y.epsilon!).pop();
          if (e) values.push({ version, series: `${a.attack} @ ${e.epsilon}`, accuracy: e.robustAccuracy });
        }
      }
    });
    return {
      id: `chart-versions-${gi + 1}`,
      title: `Robustness over versions: ${g.name}`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        description: `Clean accuracy and accuracy under each attack for each version of ${g.name}, oldest first`,
        width: WIDTH,
        height: HEIGHT,
        config: CONFIG,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'version', type: 'ordinal', title: 'version (evaluated)', sort: null, axis: { labelAngle: 0 } },
          y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
          color: { field: 'series', type: 'nominal', title: null, sort: null, legend: { orient: 'bottom', columns: 1 } },
        },
      },
    };
  });
}

/** Every chart of the report, in order. */
export function reportCharts(runs: Run[], versions: { name: string; runs: Run[] }[] = []): Chart[] {
  return [robustnessChart(runs), ...sizeCharts(runs), ...textCharts(runs), ...versionCharts(versions), ...trainingCharts(runs)].filter((c): c is Chart => c !== undefined);
}
