import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@fersweep/observability';
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
