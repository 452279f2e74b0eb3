/**
 * The layer rule of eslint.config.js (eslint.layers.js) fires: snippets linted as if they were
 * files of each layer, through eslint's own API with the repository's config.
 */
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

/** The layer-rule messages eslint reports for `code` as the file `filePath`. */
async function violations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message);
}

describe('the layer rule: app → services → packages', () => {
  it.each([
    [
      'a service importing another service',
      'services/evaluator/src/x.ts',
      "import { Scheduler } from '@fersweep/coordinator';\nexport { Scheduler };\n",
    ],
    [
      'a service importing another service dynamically',
      'services/coordinator/src/x.ts',
      "export const t = () => import('@fersweep/trainer');\n",
    ],
    [
      'a service re-exporting another service',
      'services/trainer/src/x.ts',
      "export { createEvaluator } from '@fersweep/evaluator';\n",
    ],
    [
      'a package importing a service',
      'packages/storage/src/x.ts',
      "import { runTrial } from '@fersweep/trainer';\nexport { runTrial };\n",
    ],
    ['a package importing the app', 'packages/contracts/src/x.ts', "export const a = () => import('@fersweep/cli');\n"],
    ['a service importing the app', 'services/coordinator/src/x.ts', "export { run } from '@fersweep/cli';\n"],
    [
      'product code importing a test-only workspace',
      'apps/fersweep/src/x.ts',
      "export { startNats } from '@fersweep/testkit';\n",
    ],
    [
      'product code importing test helpers',
      'services/coordinator/src/x.ts',
      "export { event } from '@fersweep/evaluator/testing';\n",
    ],
    [
      'a deep import of a public face',
      'apps/fersweep/src/x.ts',
      "export { Scheduler } from '@fersweep/coordinator/src/scheduler.js';\n",
    ],
    [
      'a test reaching into another workspace by relative path',
      'apps/fersweep/src/x.test.ts',
      "export { FAKE_TRAINER_MODELS } from '../../../services/coordinator/src/testing/fake-trainer-models.js';\n",
    ],
    [
      'an integration test reaching into a src/ by relative path',
      'test/integration/x.test.ts',
      "export { handBuiltSweep } from '../../services/evaluator/src/testing/fixtures.js';\n",
    ],
  ])('rejects %s', async (_what, filePath, code) => {
    expect(await violations(filePath, code)).toHaveLength(1);
  });

  it.each([
    [
      'the app importing every service',
      'apps/fersweep/src/x.ts',
      "export { startCoordinator } from '@fersweep/coordinator';\nexport const e = () => import('@fersweep/evaluator');\n",
    ],
    [
      'a service importing packages',
      'services/trainer/src/x.ts',
      "export { openStore } from '@fersweep/storage';\nexport { runService } from '@fersweep/lifecycle';\n",
    ],
    ['a package importing a package', 'packages/models/src/x.ts', "export { TrialSpec } from '@fersweep/contracts';\n"],
    [
      'a test using a test workspace and a testing entry',
      'services/trainer/src/x.test.ts',
      "export { startNats } from '@fersweep/testkit';\nexport { event } from '@fersweep/evaluator/testing';\n",
    ],
    [
      'relative imports inside a workspace',
      'services/coordinator/src/launchers/x.ts',
      "export { Scheduler } from '../scheduler.js';\n",
    ],
  ])('allows %s', async (_what, filePath, code) => {
    expect(await violations(filePath, code)).toEqual([]);
  });
});
