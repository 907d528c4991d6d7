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

export interface TextGroup {
  id: string;
  run: Run;
  attack: TextAttackEntry;
  examples: TextExample[];
}

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

export function textGroups(runs: Run[]): TextGroup[] {
  const groups: TextGroup[] = [];
  for (const run of runs) {
    for (const attack of textAttacksOf(run)) {
      if (attack.examples.length) groups.push({ id: `text-${groups.length + 1}`, run, attack, examples: attack.examples });
    }
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
