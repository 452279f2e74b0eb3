import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { keys } from '@fersweep/contracts';
import { createApp as createEvaluatorApp, createEvaluator } from '@fersweep/evaluator';
import { createMemoryBus } from '@fersweep/messaging';
import { createLogger, createRegistry } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { createReportReader, ReportPendingError } from './reports.js';
import type { SweepRecord, TrialRecord } from './state.js';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'fersweep-reports-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

const sweep = (phase: SweepRecord['phase']) => ({ id: 'ended', phase }) as SweepRecord;
const trial = (name: string, phase: TrialRecord['phase']) => ({ trial: name, phase }) as TrialRecord;

describe('the final report of an ended sweep', () => {
  it('is ReportPending (retry later), naming the trials the evaluator has not seen end, when it does not appear', async () => {
    const reports = createReportReader({
      store: openStore(`file://${dir}`),
      logger: createLogger({ service: 'test', silent: true }),
      waitMs: 300,
      pollMs: 50,
    });
    const pending = reports.final(sweep('Succeeded'), [trial('cnn', 'Succeeded'), trial('mnv2', 'Failed')]);
    await expect(pending).rejects.toBeInstanceOf(ReportPendingError);
    await expect(pending).rejects.toMatchObject({
      code: 'ReportPending',
      retryAfterSeconds: 5,
      message: expect.stringMatching(/sweep 'ended' ended \(Succeeded\) .* the end of trial\(s\) cnn\. Retry shortly/),
    });
  });

  it('is whatever the store holds for a cancelled sweep when no evaluator can finalize it (nothing: 404)', async () => {
    const reports = createReportReader({
      store: openStore(`file://${dir}`),
      logger: createLogger({ service: 'test', silent: true }),
    });
    await expect(reports.final(sweep('Cancelled'), [trial('cnn', 'Cancelled')])).resolves.toBeUndefined();
  });
});

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
