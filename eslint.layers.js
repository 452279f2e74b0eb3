/**
 * The layer rule (docs/ARCHITECTURE.md "Dependencies"): app → services → packages, read top-down.
 * No service imports another service, no package imports a service or the app, and no product code
 * imports a test-only workspace (test/kube-fake, test/testkit) or a `…/testing` entry. Tests may use
 * test helpers, but never reach into another workspace's src/ by relative path.
 *
 * Built from eslint's own `no-restricted-imports` (static imports and re-exports) and
 * `no-restricted-syntax` (dynamic `import()`, which no-restricted-imports does not see), one config
 * block per layer — no plugin needed. In flat config a later block's options replace an earlier
 * block's for the same rule, so every block carries the whole list that applies to its files.
 */

export const SERVICES = ['coordinator', 'evaluator', 'trainer'];
/** The app's package name (apps/fersweep keeps `@fersweep/cli`). */
export const APP = '@fersweep/cli';
export const TEST_WORKSPACES = ['@fersweep/testkit', '@fersweep/kube-fake'];

/** Everywhere: a workspace's public face only (STYLE.md), never a relative path into another one's src/. */
const BASE_PATTERNS = [
  { group: ['@fersweep/*/src/*', '@fersweep/*/dist/*'], message: "import a workspace's public face (@fersweep/x)." },
  {
    group: ['**/packages/*/src/**', '**/services/*/src/**', '**/apps/*/src/**', '**/test/*/src/**'],
    message: "reach another workspace through its package name (add a './testing' export for test helpers).",
  },
];

const layer = (what, names) => names.map((name) => ({ name, message: `${what} must not import ${name}.` }));

/** The two rules for files of one layer that must not import `forbidden` (package names). */
function forbid(what, forbidden, testingEntries = true) {
  const paths = layer(what, forbidden);
  const patterns = [...BASE_PATTERNS];
  if (testingEntries)
    patterns.push({ group: ['@fersweep/*/testing'], message: `${what} must not import test helpers.` });
  const sources = forbidden.map((n) => n.replace(/[/-]/g, (c) => `\\${c}`)).join('|');
  return {
    'no-restricted-imports': ['error', { paths, patterns }],
    'no-restricted-syntax': [
      'error',
      {
        selector: `ImportExpression[source.value=/^(${sources})$/]`,
        message: `${what} must not import ${forbidden.join(', ')} (layer rule, eslint.layers.js).`,
      },
    ],
  };
}

const TESTS = ['**/*.test.ts', '**/testing/**', '**/test-support.ts', '**/fixtures/**'];
const service = (n) => `@fersweep/${n}`;

/** The flat-config blocks, most general first. */
export const layerRules = [
  { rules: { 'no-restricted-imports': ['error', { patterns: BASE_PATTERNS }] } },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: TESTS,
    rules: forbid('a package (packages/*)', [...SERVICES.map(service), APP, ...TEST_WORKSPACES]),
  },
  ...SERVICES.map((name) => ({
    files: [`services/${name}/src/**/*.ts`],
    ignores: TESTS,
    rules: forbid(`a service (services/${name})`, [
      ...SERVICES.filter((s) => s !== name).map(service),
      APP,
      ...TEST_WORKSPACES,
    ]),
  })),
  { files: ['apps/*/src/**/*.ts'], ignores: TESTS, rules: forbid('the app (apps/*)', TEST_WORKSPACES) },
];
