#!/usr/bin/env node
// The package-graph check of `pnpm lint` (issue 13), with dependency-cruiser and the rules of .dependency-cruiser.cjs:
//
//   1. the real tree: every file under packages/*/src, apps/*/src and examples/*/src (tests and type-only imports
//      included) must follow the rules; a forbidden edge (attacks -> defenses, core -> @parry/text, ...) fails lint;
//   2. the rules must bite: the same rules, run on the deliberately bad fixture in scripts/dep-rules/fixture, must
//      report exactly the forbidden edges planted there (and nothing on its good edges). If a rule is weakened or
//      resolution of @parry/* silently breaks, this step fails lint too.
//
// It uses dependency-cruiser's JavaScript API rather than its `depcruise` CLI because dependency-cruiser 18's CLI
// refuses to start on Node 20 (it declares node ^22||^24||>=26), while this project supports Node >= 20.19.
//
// Usage: node scripts/check-deps.mjs            (both steps; exit 1 on a violation or a rule that does not bite)
//        node scripts/check-deps.mjs --fixture  (only step 2)
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, format } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const configFile = join(root, '.dependency-cruiser.cjs');
const fixtureDir = join(root, 'scripts/dep-rules/fixture');

/** What the fixture must produce, as `violationKey` gives it (paths relative to the fixture). */
const EXPECTED = [
  'core-not-text: packages/core/src/index.ts -> packages/text/src/index.ts',
  'core-no-engines: packages/core/src/index.ts -> http', // dependency-cruiser names node:http by its bare name
  'attacks-not-defenses: packages/attacks/src/fgsm.test.ts -> packages/defenses/src/index.ts',
  'no-circular-across-packages: cycle packages/core/src/index.ts, packages/text/src/index.ts',
];

/** `rule: from -> to`, or `rule: cycle <its modules, sorted>` (a cycle is reported once, from any of its edges). */
function violationKey(v) {
  if (v.cycle) return `${v.rule.name}: cycle ${v.cycle.map((c) => c.name ?? c).sort().join(', ')}`;
  return `${v.rule.name}: ${v.from} -> ${v.to}`;
}

/** `<base>/<group>/<name>/src` for every workspace folder that has one. */
function sourceDirs(base) {
  const dirs = [];
  for (const group of ['packages', 'apps', 'examples']) {
    const g = join(base, group);
    if (!existsSync(g)) continue;
    for (const name of readdirSync(g).sort()) {
      if (existsSync(join(g, name, 'src'))) dirs.push(`${group}/${name}/src`);
    }
  }
  return dirs;
}

async function run(baseDir, tsConfigFile) {
  const options = await extractDepcruiseOptions(configFile);
  // the @parry/* aliases of this tree (the config names the real tree's file)
  options.ruleSet.options = { ...options.ruleSet.options, tsConfig: { fileName: tsConfigFile } };
  const cruiseOptions = { ...options, tsConfig: { fileName: tsConfigFile }, baseDir, validate: true, outputType: 'json' };
  const dirs = sourceDirs(baseDir);
  const out = await cruise(dirs, cruiseOptions, {}, { tsConfig: extractTSConfig(tsConfigFile) });
  const result = typeof out.output === 'string' ? JSON.parse(out.output) : out.output;
  const report = await format(result, { outputType: 'err' });
  // report.exitCode: what `depcruise --output-type err` exits with (the number of errors)
  return { dirs, result, exitCode: report.exitCode, text: report.output, rules: options.ruleSet.forbidden.map((r) => `${r.name} (${r.severity})`) };
}

const onlyFixture = process.argv.includes('--fixture');
let failed = false;

if (!onlyFixture) {
  const real = await run(root, join(root, 'scripts/dep-rules/tsconfig.json'));
  const s = real.result.summary;
  console.log(`check-deps: package graph of ${real.dirs.join(' ')}`);
  console.log(`check-deps: ${s.totalCruised} modules, ${s.totalDependenciesCruised} dependencies; rules: ${real.rules.join(', ')}`);
  if (s.violations.length > 0) console.log(real.text.trimEnd());
  if (s.error > 0 || real.exitCode > 0) {
    console.log(`check-deps: FAIL - ${s.error} forbidden edge(s) in the package graph (see .dependency-cruiser.cjs for the allowed graph)`);
    failed = true;
  } else {
    console.log(`check-deps: ok - no forbidden edge${s.violations.length > 0 ? ' (the warnings above do not fail lint)' : ''}`);
  }
}

{
  const fx = await run(fixtureDir, join(fixtureDir, 'tsconfig.json'));
  const s = fx.result.summary;
  const got = [...new Set(s.violations.filter((v) => v.rule.severity === 'error').map(violationKey))].sort();
  const want = [...EXPECTED].sort();
  const missing = want.filter((w) => !got.includes(w));
  const extra = got.filter((g) => !want.includes(g));
  console.log(`check-deps: rules on the bad fixture ${relative(root, fixtureDir)} (${fx.dirs.join(' ')}): ${s.totalCruised} modules, ${s.totalDependenciesCruised} dependencies`);
  for (const g of got) console.log(`  rejected as expected: ${g}`);
  if (s.error === 0 || !(fx.exitCode > 0) || missing.length > 0 || extra.length > 0) {
    for (const m of missing) console.log(`  NOT rejected: ${m}`);
    for (const e of extra) console.log(`  rejected but not planted: ${e}`);
    console.log(`check-deps: FAIL - the rules do not bite on the bad fixture as they must (${s.error} error(s))`);
    failed = true;
  } else {
    console.log(`check-deps: ok - dependency-cruiser rejects the fixture (${s.error} errors, exit code ${fx.exitCode}) and accepts its good edges`);
  }
}

process.exit(failed ? 1 : 0);
