import { Command, CommanderError } from 'commander';
import { isParryError } from '@parry/core';
import { registerEvalCommand } from './commands/eval.js';
import { listCommand } from './commands/list.js';
import { registerReportCommand } from './commands/report.js';
import { registerAugmentCommand } from './commands/augment.js';
import { registerTrainCommand } from './commands/train.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerGateCommand } from './commands/gate.js';
import { registerMergeCommand } from './commands/merge.js';
import { registerSubmitCommand } from './commands/submit.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerPretrainCommand } from './commands/pretrain.js';

export { evalCommand, renderTable, type EvalCommandOptions } from './commands/eval.js';
export { trainCommand, type TrainCommandOptions, type TrainOutcome } from './commands/train.js';
export { listCommand } from './commands/list.js';
export { gateCommand, type GateCommandOptions } from './commands/gate.js';

/** Build the `parry` command tree (exported for tests). */
export function createProgram(argv: string[] = process.argv): Command {
  const program = new Command('parry')
    .description('Attack, harden and measure the robustness of neural classifiers')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  registerTrainCommand(program, argv);
  registerPretrainCommand(program, argv);
  registerReportCommand(program, argv);
  registerGateCommand(program, argv);
  registerAugmentCommand(program, argv);

  registerEvalCommand(program, argv);
  registerMergeCommand(program, argv);
  registerSubmitCommand(program, argv);
  registerWorkerCommand(program, argv);

  program
    .command('list')
    .description('list registered attacks and defenses with their options and defaults')
    .option('--json', 'print as JSON')
    .option('--plugin <module>', 'load plugins from a module (package name or path), repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action((o) => listCommand(o));

  registerDemoCommand(program, argv);

  return program;
}

const SYSTEM_ERRORS: Record<string, { what: string; fix: string; exitCode: number }> = {
  ENOENT: { what: 'does not exist', fix: 'check the path', exitCode: 2 },
  EACCES: { what: 'is not accessible (permission denied)', fix: 'check its permissions or choose another path', exitCode: 2 },
  EPERM: { what: 'is not accessible (operation not permitted)', fix: 'check its permissions or choose another path', exitCode: 2 },
  EROFS: { what: 'is on a read-only filesystem', fix: 'choose a writable path', exitCode: 2 },
  EISDIR: { what: 'is a folder where a file was expected', fix: 'pass a file', exitCode: 2 },
  ENOTDIR: { what: 'has a file where a folder was expected', fix: 'check the path', exitCode: 2 },
  ENOSPC: { what: 'cannot be written: no space left on the device', fix: 'free some space and run again', exitCode: 1 },
  EMFILE: { what: 'cannot be opened: too many open files', fix: 'raise the open-file limit (ulimit -n)', exitCode: 1 },
  ELOOP: { what: 'is a loop of symbolic links', fix: 'check the path', exitCode: 2 },
  ENAMETOOLONG: { what: 'has a name that is too long', fix: 'choose a shorter path', exitCode: 2 },
  ERR_FS_FILE_TOO_LARGE: { what: 'is larger than 2 GiB, the most Node.js reads into one buffer', fix: 'split it or use a smaller file', exitCode: 2 },
};

/** A Node.js filesystem error that escaped a command, as one line naming the path. */
function systemError(e: unknown): { message: string; exitCode: number } | undefined {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const known = err && typeof err.code === 'string' ? SYSTEM_ERRORS[err.code] : undefined;
  if (!known) return undefined;
  const where = err.path ? `${err.path}${err.dest ? ` -> ${err.dest}` : ''}` : 'a file';
  return { message: `${where} ${known.what} (${err.syscall ?? err.code}); ${known.fix}`, exitCode: known.exitCode };
}

/**
 * Run the CLI and return the exit code: 0 ok, 1 the run failed, 2 bad usage or input (one line on stderr).
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = createProgram(argv);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return 0;
      return 2; // commander already printed its one-line message
    }
    if (isParryError(e)) {
      process.stderr.write(`parry: ${e.message}\n`);
      return e.exitCode;
    }
    const sys = systemError(e);
    if (sys) {
      process.stderr.write(`parry: ${sys.message}\n`);
      return sys.exitCode;
    }
    // one line; the stack only on request
    const err = e as Error;
    const first = String(err?.message ?? e).split('\n')[0];
    process.stderr.write(`parry: run failed: ${err?.name && err.name !== 'Error' ? `${err.name}: ` : ''}${first}${process.env.PARRY_DEBUG ? `\n${err?.stack ?? ''}` : ' (set PARRY_DEBUG=1 for the stack)'}\n`);
    return 1;
  }
}
