/**
 * The coordinator's report reader against a real evaluator app behind a token (issue 12 item 4): a
 * cross-service test, so it lives here rather than in either service (no service imports another).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { keys } from '@fersweep/contracts';
import { createReportReader } from '@fersweep/coordinator';
import { createApp as createEvaluatorApp, createEvaluator } from '@fersweep/evaluator';
import { createMemoryBus } from '@fersweep/messaging';
import { createLogger, createRegistry } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'fersweep-reports-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the evaluator behind a token (issue 12 item 4)', () => {
  const TOKEN = 'svc-token-4b1d';
  const SPEC = {
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'live' },
    spec: { dataset: 'file:///datasets/synth', epochs: 1, variants: [{ name: 'cnn', model: 'cnn', params: {} }] },
  };

  it('gets the live report with FERSWEEP_EVALUATOR_TOKEN, and warns (never logging a token) when refused', async () => {
    const store = openStore(`file://${dir}`);
    await store.put(keys.sweepSpec('live'), Buffer.from(JSON.stringify(SPEC)));
    const bus = createMemoryBus();
    const quiet = createLogger({ service: 'test', silent: true });
    const registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
    const evaluator = createEvaluator({ bus, store, registry, logger: quiet, sampleImages: false });
    await evaluator.start();
    const server = createEvaluatorApp({ evaluator, registry, logger: quiet, tokens: ['user-token', TOKEN] }).listen(
      0,
      '127.0.0.1',
    );
    await new Promise((r) => server.once('listening', r));
    const address = server.address();
    const evaluatorUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const lines: string[] = [];
      const stream = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
      const reader = (evaluatorToken?: string) =>
        createReportReader({
          evaluatorUrl,
          ...(evaluatorToken ? { evaluatorToken } : {}),
          logger: createLogger({ service: 'test', stream }),
        });

      expect(await reader(TOKEN).current('live')).toMatchObject({ sweep: 'live', phase: 'Pending' });
      expect(lines).toEqual([]);
      for (const token of [undefined, 'wrong-token-9f']) {
        lines.length = 0;
        expect(await reader(token).current('live')).toBeUndefined();
        expect(lines.join('')).toMatch(
          /the evaluator refused the coordinator's token \(401\).*FERSWEEP_EVALUATOR_TOKEN/,
        );
        expect(lines.join('')).not.toMatch(/token-/);
      }
    } finally {
      await new Promise((r) => server.close(r));
      await evaluator.stop();
      await bus.close();
    }
  });
});
