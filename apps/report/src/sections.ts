import type { ImageAttackEntry, ImageExample, Results, TextAttackEntry, TextExample } from '@parry/metrics';
import { eps } from './format.js';
import { type Run, type Table, displayPath, labelName, textAttacksOf } from './model.js';

/** Image examples of one attack of one run, with the table of labels that the HTML grid and the Markdown share. */
export interface ImageGroup {
  id: string;
  run: Run;
  results: Results;
  attack: ImageAttackEntry;
  examples: ImageExample[];
  table: Table;
}

/** Text examples of one attack of one run: the cards shown (successes first, at most `MAX_TEXT_CARDS`) and what was left out. */
export interface TextGroup {
  id: string;
  run: Run;
  attack: TextAttackEntry;
  examples: TextExample[];
  /** Records of this attack by status (skipped ones are never shown: the model was wrong before the attack). */
  counts: { successful: number; failed: number };
}

/** The same example under one attack in several runs, for side-by-side cards. */
export interface AcrossGroup {
  id: string;
  attack: string;
  runs: Run[];
  rows: { index: number; original: string; label: string; perRun: (TextExample | undefined)[] }[];
}

/** Example cards per attack and run. */
export const MAX_TEXT_CARDS = 6;
/** Examples shown side by side across runs, per attack. */
export const MAX_ACROSS = 4;

/** A prediction with what it means: "(fooled)" when the attack flipped a correct prediction, "(wrong)" when it was wrong already. */
export const outcome = (label: string, cleanPrediction: string, prediction: string): string =>
  `${prediction}${prediction === label ? '' : cleanPrediction === label ? ' (fooled)' : ' (wrong)'}`;

export function imageGroups(runs: Run[]): ImageGroup[] {
  const groups: ImageGroup[] = [];
  for (const run of runs) {
    for (const results of run.evals) {
      results.attacks.forEach((attack) => {
        if (attack.modality !== 'image') return;
        const examples = attack.examples ?? [];
        if (!examples.length) return;
        const id = `images-${groups.length + 1}`;
        const epsilons = examples[0].perEpsilon.map((e) => e.epsilon);
        groups.push({
          id,
          run,
          results,
          attack,
          examples,
          table: {
            id,
            caption: `Predictions on the first ${examples.length} examples under ${attack.attack}: ${run.title}`,
            columns: ['example', 'true label', 'clean prediction', ...epsilons.map((e) => `eps ${eps(e)}`)],
            rows: examples.map((x) => {
              const label = labelName(results, x.label);
              const clean = labelName(results, x.prediction);
              return [String(x.index), label, outcome(label, clean, clean), ...x.perEpsilon.map((p) => outcome(label, clean, labelName(results, p.prediction)))];
            }),
            plain: true,
          },
        });
      });
    }
  }
  return groups;
}

const rank = (x: TextExample): number => (x.status === 'successful' ? 0 : x.status === 'failed' ? 1 : 2);

/** The cards of every text attack of every run: successful attacks first, then failed ones, at most `MAX_TEXT_CARDS`. */
export function textGroups(runs: Run[], max = MAX_TEXT_CARDS): TextGroup[] {
  const groups: TextGroup[] = [];
  for (const run of runs) {
    for (const attack of textAttacksOf(run)) {
      const shown = attack.examples.filter((x) => x.status !== 'skipped');
      if (!shown.length) continue;
      const sorted = [...shown].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
      groups.push({
        id: `text-${groups.length + 1}`,
        run,
        attack,
        examples: sorted.slice(0, max),
        counts: { successful: shown.filter((x) => x.status === 'successful').length, failed: shown.filter((x) => x.status === 'failed').length },
      });
    }
  }
  return groups;
}

/**
 * The same examples under the same attack in every run that ran it on the same texts (same index, same original),
 * for comparing defenses: examples where the runs disagree first, then ones any run was fooled on; at most `max`.
 */
export function acrossGroups(runs: Run[], max = MAX_ACROSS): AcrossGroup[] {
  if (runs.length < 2) return [];
  const names: string[] = [];
  for (const run of runs) for (const a of textAttacksOf(run)) if (!names.includes(a.attack)) names.push(a.attack);
  const groups: AcrossGroup[] = [];
  for (const name of names) {
    const withIt = runs.map((run) => ({ run, attack: textAttacksOf(run).find((a) => a.attack === name) })).filter((x) => x.attack && x.attack.examples.length);
    if (withIt.length < 2) continue;
    const maps = withIt.map((x) => new Map(x.attack!.examples.map((e) => [e.index, e])));
    const rows: AcrossGroup['rows'] = [];
    for (const [index, first] of maps[0]) {
      const perRun = maps.map((m) => m.get(index));
      if (perRun.some((e) => !e || e.original !== first.original)) continue;
      const statuses = new Set(perRun.map((e) => e!.status));
      if (statuses.has('skipped') && statuses.size === 1) continue;
      if (!statuses.has('successful')) continue;
      rows.push({ index, original: first.original, label: first.label, perRun });
    }
    if (!rows.length) continue;
    const disagree = (r: AcrossGroup['rows'][number]) => (new Set(r.perRun.map((e) => e!.status)).size > 1 ? 0 : 1);
    rows.sort((a, b) => disagree(a) - disagree(b) || a.index - b.index);
    groups.push({ id: `across-${groups.length + 1}`, attack: name, runs: withIt.map((x) => x.run), rows: rows.slice(0, max) });
  }
  return groups;
}

const get = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
const str = (v: unknown) => (v === undefined || v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v));

/** The command as typed: `parry eval ...` rather than `/usr/bin/node /abs/apps/cli/dist/bin.js eval ...`. */
function commandLine(argv: string[]): string {
  if (argv.length === 0) return '-';
  const start = /node(\.exe)?$/.test(argv[0]) ? 1 : 0;
  const [program, ...rest] = argv.slice(start);
  const name = program && /(^|[\\/])(bin\.js|parry)$/.test(program) ? 'parry' : program;
  return [name, ...rest].filter((a) => a !== undefined).join(' ');
}

/** Where and how each results file was produced. */
export function environmentTable(files: { file: string; results: Results }[]): Table {
  return {
    id: 'environment',
    caption: 'Where each results file comes from',
    columns: ['file', 'kind', 'created', 'backend', 'threads', 'node', 'machine', 'seed', 'command'],
    rows: files.map(({ file, results: r }) => {
      const env = r.environment;
      const cpu = get(env, 'cpuModel');
      const cores = get(env, 'cpuCount');
      return [
        displayPath(file),
        r.kind,
        r.createdAt,
        str(get(env, 'backend', 'name')),
        str(get(env, 'backend', 'threads')),
        str(get(env, 'node')),
        cpu === undefined ? '-' : `${str(cpu)}${cores === undefined ? '' : `, ${str(cores)} cores`}`,
        String(r.seed),
        commandLine(r.command),
      ];
    }),
  };
}
