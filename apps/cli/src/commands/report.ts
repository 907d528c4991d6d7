import { writeReport, type WrittenReport } from '@parry/report';
import type { Command } from 'commander';
import { log, out } from '../context.js';

export interface ReportCommandOptions {
  files: string[];
  out: string;
  title?: string;
  /** Replace report.html / report.md even when Parry did not write them. */
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Render results files into `<out>/report.html` (self-contained) and `<out>/report.md`; prints the HTML path. */
export async function reportCommand(o: ReportCommandOptions): Promise<WrittenReport> {
  const written = await writeReport(o.files, o.out, { title: o.title, force: o.force });
  if (o.json) out(JSON.stringify(written));
  else {
    if (!o.quiet) log(`markdown summary written to ${written.markdown}`);
    out(`report written to ${written.html}`);
  }
  return written;
}

/** The `parry report` subcommand and its flags. */
export function registerReportCommand(program: Command, _argv: string[]): void {
  program
    .command('report')
    .description('turn one or more results.json files into a self-contained HTML report and a Markdown summary')
    .argument('<results...>', 'results files written by `parry eval` or `parry train` (several are shown side by side; several of one run name, i.e. `parry eval --name`, give a robustness-over-versions section in time order)')
    .option('-o, --out <dir>', 'folder to write report.html and report.md into', 'runs/report')
    .option('--title <text>', 'report title', 'Parry robustness report')
    .option('--force', 'replace report.html / report.md in --out even when Parry did not write them')
    .option('--json', 'print the written paths as JSON')
    .option('-q, --quiet', 'no log output')
    .action(async (files: string[], o) => {
      await reportCommand({ files, out: o.out, title: o.title, force: o.force, json: o.json, quiet: o.quiet });
    });
}
