// Issue 18: the batch-scheduler examples (examples/kubernetes, examples/slurm, examples/github-actions/shard-matrix.yml).
// They cannot run here, so (1) each is validated against its schema — Kubernetes manifests with kubernetes-models (the
// published OpenAPI schema) plus a TypeScript excess-property check against its types (the schema allows unknown
// fields, which `kubectl apply` rejects); the workflow with @action-validator/core (SchemaStore's workflow schema); the
// Slurm scripts with `bash -n` and their #SBATCH lines — and each check is shown to fail on a broken copy; (2) their own
// commands, read from the files, run locally with the built CLI and the variable each scheduler sets, and the merged
// results must equal one unsharded run. The only changes to the examples' commands: paths are mapped into a temporary
// folder (Kubernetes volumes, Actions workspaces) and a `parry` stand-in appends `-n 24 --batch-size 3 --opt
// pgd.steps=2` to `eval` (and `--epochs 1 --limit 320` to `train`) so the flow takes seconds, not hours.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { readResults, type Results } from '@parry/metrics';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { BIN } from './test-support.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(BIN), '../../..');
const EX = path.join(ROOT, 'examples');
const read = (p: string) => fs.readFileSync(path.join(EX, p), 'utf8');
const clone = <T>(x: T): T => structuredClone(x);

// ---------------------------------------------------------------------------------------------- Kubernetes manifests

type Manifest = { kind: string; metadata?: { name?: string }; spec?: any };
const K8S_FILES = ['kubernetes/volumes.yaml', 'kubernetes/eval-job.yaml', 'kubernetes/merge-job.yaml'];
const k8sDocs = (file: string): Manifest[] => YAML.parseAllDocuments(read(file)).map((d) => d.toJS());
const MODELS: Record<string, { model: new (d: never) => { validate(): void }; types: string; iface: string }> = {
  Job: { model: Job as never, types: 'kubernetes-models/batch/v1/Job', iface: 'IJob' },
  PersistentVolumeClaim: { model: PersistentVolumeClaim as never, types: 'kubernetes-models/v1/PersistentVolumeClaim', iface: 'IPersistentVolumeClaim' },
};

/**
 * TypeScript diagnostics of `const doc: I<Kind> = <manifest>` for each manifest, in one program: an excess-property
 * check (misspelled or unknown fields, at any depth) and a type check against kubernetes-models' declarations.
 */
function k8sTypeErrors(docs: Manifest[]): string[][] {
  const dir = path.join(ROOT, 'apps/cli/src');
  const files = docs.map((_, i) => path.join(dir, `__k8s_manifest_${i}__.ts`));
  const sources = new Map(
    docs.map((doc, i) => {
      const m = MODELS[doc.kind];
      if (!m) throw new Error(`no kubernetes-models type for kind ${doc.kind}`);
      return [files[i], `import type { ${m.iface} } from '${m.types}';\nexport const doc: ${m.iface} = ${JSON.stringify(doc, null, 2)};\n`];
    }),
  );
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [], skipLibCheck: true };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (sources.has(path.resolve(f)) ? ts.createSourceFile(f, sources.get(path.resolve(f))!, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => sources.has(path.resolve(f)) || fileExists.call(host, f);
  host.readFile = (f) => sources.get(path.resolve(f)) ?? readFile.call(host, f);
  const program = ts.createProgram(files, options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return files.map((f) => diagnostics.filter((d) => d.file && path.resolve(d.file.fileName) === f).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')));
}

/** kubernetes-models' schema validation of one manifest: [] or the error. */
function k8sSchemaErrors(doc: Manifest): string[] {
  try {
    new MODELS[doc.kind].model(doc as never).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}

const flag = (cmd: string, name: string) => new RegExp(`(?:^|\\s)${name}[ =](\\S+)`).exec(cmd)?.[1];
const shardCount = (cmd: string) => Number(/--shard auto\/(\d+)/.exec(cmd)?.[1]);

/** The eval Job's own rules: Indexed, completions = the N of `--shard auto/N`, claims that volumes.yaml declares. */
function evalJobProblems(job: Manifest, claims: string[]): string[] {
  const problems: string[] = [];
  const spec = job.spec ?? {};
  const pod = spec.template?.spec ?? {};
  const cmd: string = (pod.containers?.[0]?.command ?? []).join(' ');
  const n = shardCount(cmd);
  if (spec.completionMode !== 'Indexed') problems.push(`completionMode is ${spec.completionMode}, not Indexed: pods get no JOB_COMPLETION_INDEX`);
  if (!n) problems.push('the container command has no `parry eval ... --shard auto/N`');
  else if (spec.completions !== n) problems.push(`completions ${spec.completions} differs from the shard count ${n} of --shard auto/${n}`);
  if (!(spec.parallelism <= spec.completions)) problems.push(`parallelism ${spec.parallelism} is not at most completions ${spec.completions}`);
  if (!cmd.includes('$JOB_COMPLETION_INDEX')) problems.push('the output file does not name the index ($JOB_COMPLETION_INDEX): shards would overwrite each other');
  for (const v of pod.volumes ?? []) if (!claims.includes(v.persistentVolumeClaim?.claimName)) problems.push(`volume ${v.name} uses a claim that volumes.yaml does not declare`);
  return problems;
}

describe('examples/kubernetes', () => {
  const docs = K8S_FILES.map(k8sDocs);
  const claims = docs[0].filter((d) => d.kind === 'PersistentVolumeClaim').map((d) => d.metadata!.name!);
  const [evalJob] = docs[1];
  const [mergeJob] = docs[2];

  it('every manifest validates against the Kubernetes schema and types; the eval Job is a consistent Indexed Job; broken copies fail', () => {
    expect(docs.map((d) => d.length)).toEqual([2, 1, 1]);
    expect(claims).toEqual(['parry-models', 'parry-results']);
    for (const d of docs.flat()) expect(k8sSchemaErrors(d), `${d.kind} ${d.metadata?.name}`).toEqual([]);
    expect(evalJobProblems(evalJob, claims)).toEqual([]);
    expect(mergeJob.spec.template.spec.volumes.map((v: any) => v.persistentVolumeClaim.claimName)).toEqual(['parry-results']);

    // Broken copies: a missing required field (the schema rejects it) ...
    const noName = clone(evalJob);
    delete noName.spec.template.spec.containers[0].name;
    expect(k8sSchemaErrors(noName)).toEqual(['data/spec/template/spec/containers/0 must have required property name']);
    const wrongType = clone(evalJob);
    wrongType.spec.completions = 'eight';
    expect(k8sSchemaErrors(wrongType)).toEqual(['data/spec/completions must be integer']);
    // ... a misspelled field (the schema allows unknown fields, so the type check is what catches it) ...
    const typo = clone(evalJob);
    typo.spec.template.spec.containers[0].volumeMount = typo.spec.template.spec.containers[0].volumeMounts;
    delete typo.spec.template.spec.containers[0].volumeMounts;
    expect(k8sSchemaErrors(typo)).toEqual([]);
    const typoPvc = clone(docs[0][1]);
    (typoPvc.spec as any).accesModes = typoPvc.spec.accessModes;
    delete typoPvc.spec.accessModes;
    // ... and an eval Job whose completions no longer match --shard auto/4, or that is not Indexed.
    const fewer = clone(evalJob);
    fewer.spec.completions = fewer.spec.parallelism = 3;
    expect(evalJobProblems(fewer, claims)).toEqual(['completions 3 differs from the shard count 4 of --shard auto/4']);
    const nonIndexed = clone(evalJob);
    delete nonIndexed.spec.completionMode;
    expect(evalJobProblems(nonIndexed, claims)).toEqual(['completionMode is undefined, not Indexed: pods get no JOB_COMPLETION_INDEX']);

    const good = docs.flat();
    const typeErrors = k8sTypeErrors([...good, typo, typoPvc, noName]);
    expect(typeErrors.slice(0, good.length)).toEqual(good.map(() => []));
    const [typoErr, typoPvcErr, noNameErr] = typeErrors.slice(good.length);
    expect(typoErr.join('\n')).toMatch(/'"volumeMount"' does not exist in type 'IContainer'/);
    expect(typoPvcErr.join('\n')).toMatch(/'"accesModes"' does not exist in type 'IPersistentVolumeClaimSpec'/);
    expect(noNameErr.join('\n')).toMatch(/Property '"name"' is missing/);
  }, 60_000);
});

// ------------------------------------------------------------------------------------------------------ Actions workflow

const WORKFLOW = 'github-actions/shard-matrix.yml';
const actionValidator = createRequire(import.meta.url)('@action-validator/core') as {
  validateWorkflow(src: string): { errors: { title: string; detail?: string; path?: string; states?: { errors: { detail?: string; title: string }[] }[] }[] };
};

/** @action-validator/core's errors (SchemaStore's workflow schema), one line each, plus the sharding rules. */
function workflowProblems(src: string): string[] {
  const problems = actionValidator.validateWorkflow(src).errors.map((e) => `${e.path ?? ''} ${e.title}${e.detail ? `: ${e.detail}` : ''}${e.states ? ` (${e.states.flatMap((s) => s.errors.map((x) => x.detail ?? x.title)).join('; ')})` : ''}`);
  const wf = YAML.parse(src);
  const shard = wf?.jobs?.shard;
  const evalRun: string = (shard?.steps ?? []).map((s: any) => s.run ?? '').find((r: string) => / eval /.test(r)) ?? '';
  const n = shardCount(evalRun);
  const matrix = shard?.strategy?.matrix?.shard;
  if (!n) problems.push('jobs.shard has no `parry eval ... --shard auto/N` step');
  else if (JSON.stringify(matrix) !== JSON.stringify([...Array(n).keys()])) problems.push(`jobs.shard matrix ${JSON.stringify(matrix)} is not 0 to ${n - 1} (--shard auto/${n})`);
  if (shard?.env?.PARRY_SHARD_INDEX !== '${{ matrix.shard }}') problems.push('jobs.shard does not set PARRY_SHARD_INDEX to ${{ matrix.shard }}');
  if (![wf?.jobs?.merge?.needs].flat().includes('shard')) problems.push('jobs.merge does not need jobs.shard');
  return problems;
}

describe('examples/github-actions/shard-matrix.yml', () => {
  it('validates against the workflow schema and shards consistently; broken copies fail', () => {
    const src = read(WORKFLOW);
    expect(workflowProblems(src)).toEqual([]);
    const misspelled = src.replace('    runs-on: ubuntu-latest\n    timeout-minutes: 15', '    runs-onn: ubuntu-latest\n    timeout-minutes: 15');
    expect(misspelled).not.toBe(src);
    expect(workflowProblems(misspelled).join('\n')).toMatch(/^\/jobs\/merge OneOf conditions are not met \(Additional property 'runs-onn' is not allowed; .*runs-on/);
    const wf = YAML.parse(src);
    delete wf.jobs.shard['runs-on'];
    expect(workflowProblems(YAML.stringify(wf)).join('\n')).toMatch(/^\/jobs\/shard OneOf conditions are not met \(.*\/jobs\/shard\/runs-on|This property is required/);
    const three = src.replace('shard: [0, 1, 2, 3]', 'shard: [0, 1, 2]');
    expect(workflowProblems(three)).toEqual(['jobs.shard matrix [0,1,2] is not 0 to 3 (--shard auto/4)']);
  });
});

// ------------------------------------------------------------------------------------------------------ Slurm scripts

const SLURM = ['slurm/parry-eval.sbatch', 'slurm/parry-merge.sbatch', 'slurm/submit.sh'];

/** `bash -n` of a script: '' or bash's message. */
async function bashSyntax(script: string): Promise<string> {
  const f = path.join(os.tmpdir(), `parry-sbatch-${process.pid}-${Math.random().toString(36).slice(2)}.sh`);
  fs.writeFileSync(f, script);
  try {
    await run('bash', ['-n', f]);
    return '';
  } catch (e) {
    return String((e as { stderr?: string }).stderr).replaceAll(f, '<script>').trim();
  } finally {
    fs.rmSync(f, { force: true });
  }
}

/** The #SBATCH directives Slurm reads: those before the first command line (later ones are plain comments to it). */
function sbatchDirectives(script: string): { directives: string[]; ignored: string[] } {
  const lines = script.split('\n');
  const first = lines.findIndex((l, i) => i > 0 && l.trim() !== '' && !l.trim().startsWith('#'));
  const before = first < 0 ? lines : lines.slice(0, first);
  const after = first < 0 ? [] : lines.slice(first);
  const pick = (ls: string[]) => ls.filter((l) => l.startsWith('#SBATCH')).map((l) => l.slice('#SBATCH'.length).trim());
  return { directives: pick(before), ignored: pick(after) };
}

/** `bash -n`, directives before the first command, and for an array script: `--array=0-(N-1)` for `--shard auto/N`. */
async function slurmProblems(script: string): Promise<string[]> {
  const problems: string[] = [];
  const syntax = await bashSyntax(script);
  if (syntax) problems.push(`bash -n: ${syntax}`);
  if (!script.startsWith('#!/bin/bash\n')) problems.push('does not start with #!/bin/bash');
  const { directives, ignored } = sbatchDirectives(script);
  for (const d of ignored) problems.push(`#SBATCH ${d} comes after the first command; Slurm ignores it`);
  const n = shardCount(script);
  const arrays = directives.filter((d) => d.startsWith('--array'));
  if (n) {
    const m = arrays.length === 1 ? /^--array=(\d+)-(\d+)(%\d+)?$/.exec(arrays[0]) : null;
    if (!m) problems.push(`needs one #SBATCH --array=0-${n - 1} line (got ${arrays.length ? arrays.join(', ') : 'none'})`);
    else if (Number(m[1]) !== 0 || Number(m[2]) !== n - 1) problems.push(`#SBATCH ${arrays[0]} is not --array=0-${n - 1}: Parry's shards of --shard auto/${n} are 0 to ${n - 1}`);
    if (!/pgd-\$SLURM_ARRAY_TASK_ID\.json/.test(script)) problems.push('the output file does not name $SLURM_ARRAY_TASK_ID');
  } else if (arrays.length) problems.push('an --array script without `--shard auto/N`');
  return problems;
}

describe('examples/slurm', () => {
  it('the scripts pass bash -n and their #SBATCH checks; broken copies fail', async () => {
    for (const f of SLURM) expect(await slurmProblems(read(f)), f).toEqual([]);
    const evalScript = read(SLURM[0]);
    expect(sbatchDirectives(evalScript).directives).toContain('--array=0-3');
    const oneBased = evalScript.replace('--array=0-3', '--array=1-4');
    expect(await slurmProblems(oneBased)).toEqual(["#SBATCH --array=1-4 is not --array=0-3: Parry's shards of --shard auto/4 are 0 to 3"]);
    const late = evalScript.replace('#SBATCH --array=0-3\n', '') + '#SBATCH --array=0-3\n';
    expect(await slurmProblems(late)).toEqual(['#SBATCH --array=0-3 comes after the first command; Slurm ignores it', 'needs one #SBATCH --array=0-3 line (got none)']);
    const unterminated = read(SLURM[2]).replace('"$jobid"', '"$jobid');
    expect((await slurmProblems(unterminated))[0]).toMatch(/^bash -n: .*unexpected EOF/);
  });
});

// --------------------------------------------------------------------------------------------- the same flow, locally

const OVERRIDES = { eval: ['-n', '24', '--batch-size', '3', '--opt', 'pgd.steps=2'], train: ['--epochs', '1', '--limit', '320', '--batch-size', '64'] };
const INDEX_VARS = ['PARRY_SHARD_INDEX', 'JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-sched-'));
const binDir = path.join(dir, 'bin');
const tinyModel = path.join(dir, 'tiny-model');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The built CLI with the test's size overrides appended; loadable as CommonJS (apps/cli/dist/bin.js copies) and ESM. */
const shim = `if (process.argv[2] in ${JSON.stringify(OVERRIDES)}) process.argv.push(...${JSON.stringify(OVERRIDES)}[process.argv[2]]);\nimport(${JSON.stringify(pathToFileURL(BIN).href)}).catch((e) => { console.error(e); process.exit(1); });\n`;

/** The environment of a scheduled process: none of the shard variables unless given, `parry` on PATH. */
function envWith(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', PATH: `${binDir}:${process.env.PATH}` };
  for (const v of INDEX_VARS) delete env[v];
  return { ...env, ...extra };
}

async function sh(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run(file, args, { cwd, env, maxBuffer: 1 << 24 })).stdout;
  } catch (e) {
    const x = e as { stderr?: string; stdout?: string; code?: number };
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) exited ${x.code}: ${x.stderr}${x.stdout}`);
  }
}

/** Run tasks with at most `limit` at a time (this machine has 2 cores). */
async function pool<T>(tasks: (() => Promise<T>)[], limit = 2): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const k = next++;
        out[k] = await tasks[k]();
      }
    }),
  );
  return out;
}

const comparable = (r: Results) =>
  JSON.parse(JSON.stringify({ ...r, createdAt: undefined, command: undefined, environment: undefined }, (k, v) => (k === 'wallTimeMs' ? undefined : v)));

/** The unsharded form of an example's eval command: `--shard auto/N` dropped, `-o` redirected. */
const unsharded = (cmd: string, out: string) => cmd.replace(/ --shard auto\/\d+/, '').replace(/ -o \S+/, ` -o ${out}`);

function expectMergedEqualsSingle(merged: string, single: string) {
  const m = readResults(merged);
  expect(m.shard).toBeUndefined();
  expect(m.dataset.n).toBe(24);
  expect(m.attacks.map((a) => a.attack)).toEqual(['parry/pgd']);
  expect(comparable(m)).toEqual(comparable(readResults(single)));
}

describe('the examples run locally with the scheduler variables, and merge to the unsharded results', () => {
  beforeAll(async () => {
    fs.mkdirSync(binDir, { recursive: true });
    fs.writeFileSync(path.join(binDir, 'parry-cli.mjs'), shim);
    fs.writeFileSync(path.join(binDir, 'parry'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(binDir, 'parry-cli.mjs')}" "$@"\n`, { mode: 0o755 });
    await sh('parry', ['train', '--seed', '0', '-o', tinyModel, '-q'], dir, envWith());
  }, 120_000);

  it('Kubernetes: the eval Job\'s container command with JOB_COMPLETION_INDEX=0..3, then the merge Job\'s', async () => {
    const ws = path.join(dir, 'k8s');
    const [evalJob] = k8sDocs(K8S_FILES[1]);
    const [mergeJob] = k8sDocs(K8S_FILES[2]);
    /** A container's command with every volume mount path mapped to a folder per claim (shared by both Jobs, as the claims are). */
    const localCommand = (job: Manifest) => {
      const pod = job.spec.template.spec;
      const c = pod.containers[0];
      const claimOf = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v.persistentVolumeClaim.claimName]));
      let cmd: string[] = c.command;
      for (const m of c.volumeMounts) {
        const local = path.join(ws, 'claims', claimOf[m.name]);
        fs.mkdirSync(local, { recursive: true });
        cmd = cmd.map((a) => a.replace(new RegExp(`(^|\\s)${m.mountPath}(?=/|\\s|$)`, 'g'), `$1${local}`));
      }
      const env = Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));
      return { cmd, env, script: cmd.at(-1)! };
    };
    const ev = localCommand(evalJob);
    expect(ev.cmd.slice(0, 2)).toEqual(['sh', '-c']);
    fs.cpSync(tinyModel, flag(ev.script, '--model')!, { recursive: true });
    const n = evalJob.spec.completions;
    await pool(Array.from({ length: n }, (_, k) => () => sh(ev.cmd[0], ev.cmd.slice(1), ws, envWith({ ...ev.env, JOB_COMPLETION_INDEX: String(k) }))));
    const shards = fs.readdirSync(path.dirname(flag(ev.script, '-o')!)).sort();
    expect(shards).toEqual(Array.from({ length: n }, (_, k) => `pgd-${k}.json`).sort());
    const mg = localCommand(mergeJob);
    const stdout = await sh(mg.cmd[0], mg.cmd.slice(1), ws, envWith(mg.env));
    const merged = flag(mg.script, '-o')!;
    expect(stdout).toContain(`merged ${n} shards (24 examples, 1 attack) into ${merged}`);
    expect(fs.existsSync(path.join(mg.script.split(' -o ').at(-1)!, 'report.html'))).toBe(true);
    const single = path.join(ws, 'single.json');
    await sh('sh', ['-c', unsharded(ev.script, single)], ws, envWith(ev.env));
    expectMergedEqualsSingle(merged, single);
  }, 240_000);

  it('Slurm: submit.sh with an sbatch stand-in that runs each array task with SLURM_ARRAY_TASK_ID, then the dependent merge', async () => {
    const ws = path.join(dir, 'slurm');
    const evalScript = read(SLURM[0]);
    const evalLine = evalScript.split('\n').find((l) => l.startsWith('parry eval '))!;
    fs.cpSync(tinyModel, path.join(ws, flag(evalLine, '--model')!), { recursive: true });
    // The stand-in honours what the examples rely on: #SBATCH directives before the first command, --array (each task
    // with SLURM_ARRAY_TASK_ID, two at a time), --output (its folder must exist, as in Slurm), --parsable and
    // --dependency=afterok (refused unless that job succeeded). It runs jobs at submission, so afterok holds in order.
    const sbatch = path.join(dir, 'slurm-bin', 'sbatch');
    fs.mkdirSync(path.dirname(sbatch), { recursive: true });
    fs.writeFileSync(
      sbatch,
      `#!${process.execPath}
const fs = require('node:fs'); const path = require('node:path'); const { spawn } = require('node:child_process');
const args = process.argv.slice(2); const script = args.at(-1); const state = ${JSON.stringify(path.join(dir, 'slurm-state'))};
fs.mkdirSync(state, { recursive: true });
const dep = args.find((a) => a.startsWith('--dependency='));
if (dep) { const id = dep.split(':')[1]; if (fs.readFileSync(path.join(state, id), 'utf8') !== 'ok') { console.error('sbatch: dependency never satisfied'); process.exit(1); } }
const lines = fs.readFileSync(script, 'utf8').split('\\n'); const first = lines.findIndex((l, i) => i > 0 && l.trim() && !l.trim().startsWith('#'));
const opts = Object.fromEntries(lines.slice(0, first).filter((l) => l.startsWith('#SBATCH --')).map((l) => l.slice(10).split('=')));
const id = String(1000 + fs.readdirSync(state).length); fs.writeFileSync(path.join(state, id), 'running');
const m = /^(\\d+)-(\\d+)$/.exec(opts.array ?? ''); const tasks = m ? Array.from({ length: +m[2] - +m[1] + 1 }, (_, k) => String(+m[1] + k)) : [null];
const runTask = (t) => new Promise((resolve) => {
  const out = (opts.output ?? 'slurm-%j.out').replace('%A', id).replace('%a', t ?? '').replace('%j', id);
  const fd = fs.openSync(out, 'w');
  const env = { ...process.env, SLURM_JOB_ID: id, ...(t === null ? {} : { SLURM_ARRAY_JOB_ID: id, SLURM_ARRAY_TASK_ID: t, SLURM_ARRAY_TASK_COUNT: String(tasks.length) }) };
  spawn('bash', [script], { stdio: ['ignore', fd, fd], env }).on('exit', (code) => resolve(code === 0 ? 'ok' : 'failed: ' + fs.readFileSync(out, 'utf8')));
});
(async () => { const res = []; for (let k = 0; k < tasks.length; k += 2) res.push(...(await Promise.all(tasks.slice(k, k + 2).map(runTask))));
  const failed = res.filter((r) => r !== 'ok'); fs.writeFileSync(path.join(state, id), failed.length ? 'failed' : 'ok');
  if (failed.length) { console.error(failed.join('\\n')); process.exit(1); }
  console.log(args.includes('--parsable') ? id : 'Submitted batch job ' + id); })();
`,
      { mode: 0o755 },
    );
    const env = envWith({ PATH: `${path.dirname(sbatch)}:${binDir}:${process.env.PATH}` });
    const stdout = await sh('bash', [path.join(EX, SLURM[2])], ws, env);
    expect(stdout).toBe('Submitted batch job 1001\nsubmitted the array 1000 and its merge; squeue --me shows them\n');
    const n = shardCount(evalLine);
    expect(fs.readdirSync(path.join(ws, 'runs/shards')).sort()).toEqual(Array.from({ length: n }, (_, k) => `pgd-${k}.json`).sort());
    expect(fs.readdirSync(path.join(ws, 'logs')).sort()).toEqual([...Array.from({ length: n }, (_, k) => `parry-pgd-1000_${k}.log`), 'parry-pgd-merge-1001.log'].sort());
    const mergeLine = read(SLURM[1]).split('\n').find((l) => l.startsWith('parry merge '))!;
    expect(fs.readFileSync(path.join(ws, 'logs/parry-pgd-merge-1001.log'), 'utf8')).toContain(`merged ${n} shards (24 examples, 1 attack)`);
    expect(fs.existsSync(path.join(ws, 'runs/pgd-report/report.html'))).toBe(true);
    const single = path.join(ws, 'single.json');
    await sh('bash', ['-c', unsharded(evalLine, single)], ws, env);
    expectMergedEqualsSingle(path.join(ws, flag(mergeLine, '-o')!), single);
  }, 240_000);

  it('GitHub Actions: train, the shard matrix with PARRY_SHARD_INDEX (artifacts passed as the workflow names them), merge', async () => {
    const wf = YAML.parse(read(WORKFLOW));
    const root = path.join(dir, 'gha');
    const artifacts = path.join(root, 'artifacts');
    /** Run one job's steps in a fresh workspace (a runner): `run` steps that call the CLI, and the artifact actions. */
    const runJob = async (name: string, matrix: Record<string, unknown> = {}) => {
      const job = wf.jobs[name];
      const ws = path.join(root, `${name}${Object.values(matrix).map((v) => `-${v}`).join('')}`);
      fs.mkdirSync(path.join(ws, 'apps/cli/dist'), { recursive: true });
      fs.writeFileSync(path.join(ws, 'apps/cli/dist/bin.js'), shim);
      const expr = (s: string) =>
        String(s).replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, e: string) => {
          const m = /^matrix\.(\w+)$/.exec(e);
          if (!m || !(m[1] in matrix)) throw new Error(`the local run cannot evaluate \${{ ${e} }} in job ${name}`);
          return String(matrix[m[1]]);
        });
      const env = envWith(Object.fromEntries(Object.entries({ ...wf.env, ...job.env }).map(([k, v]) => [k, expr(v as string)])));
      const ran: string[] = [];
      for (const step of job.steps) {
        if (step.run?.startsWith('node apps/cli/dist/bin.js ')) {
          await sh('bash', ['-e', '-c', expr(step.run)], ws, env);
          ran.push(expr(step.run));
        } else if (step.uses?.startsWith('actions/upload-artifact@')) {
          const src = path.join(ws, expr(step.with.path));
          expect(fs.existsSync(src), `${name}: upload of ${src}`).toBe(true);
          // A folder is uploaded as its content, a file as itself.
          const art = path.join(artifacts, expr(step.with.name));
          fs.cpSync(src, fs.statSync(src).isDirectory() ? art : path.join(art, path.basename(src)), { recursive: true });
        } else if (step.uses?.startsWith('actions/download-artifact@')) {
          const dest = path.join(ws, expr(step.with.path));
          const names = step.with.name ? [expr(step.with.name)] : fs.readdirSync(artifacts).filter((a) => new RegExp(`^${expr(step.with.pattern).replace('*', '.*')}$`).test(a));
          expect(names.length, `${name}: download of ${step.with.name ?? step.with.pattern}`).toBeGreaterThan(0);
          // One artifact by name, or several with merge-multiple, land in `path`; several without it, in path/<name>.
          for (const a of names) fs.cpSync(path.join(artifacts, a), step.with.name || step.with['merge-multiple'] ? dest : path.join(dest, a), { recursive: true });
        } else expect(step.uses ?? step.run, `${name}: a step the local run skips`).toMatch(/^(actions\/checkout@|actions\/setup-node@|npx -y pnpm@)/);
      }
      return { ws, env, ran };
    };
    await runJob('train');
    const values: number[] = wf.jobs.shard.strategy.matrix.shard;
    const shardJobs = await pool(values.map((v) => () => runJob('shard', { shard: v })));
    expect(shardJobs.map((j) => j.env.PARRY_SHARD_INDEX)).toEqual(values.map(String));
    const merge = await runJob('merge');
    expect(merge.ran).toHaveLength(2);
    expect(fs.readdirSync(path.join(artifacts, 'pgd-results')).sort()).toEqual(['pgd-report', 'pgd.json']);
    const evalRun = shardJobs[0].ran.find((r) => r.includes(' eval '))!;
    const single = path.join(shardJobs[0].ws, 'single.json');
    await sh('bash', ['-e', '-c', unsharded(evalRun, single)], shardJobs[0].ws, envWith());
    expectMergedEqualsSingle(path.join(merge.ws, flag(merge.ran[0], '-o')!), single);
  }, 240_000);
});
