import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import type { SweepReport } from '@fersweep/contracts';
import { createReportReader, isFinalReport, missingSuccesses, ReportPendingError } from './reports.js';
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

  it('waits while the report shows a succeeded trial with a gap in its epochs (events still to be redelivered)', () => {
    const epoch = (n: number) => ({ epoch: n, loss: 1, accuracy: 0.5, valLoss: 1, valAccuracy: 0.5, seconds: 1 });
    const report = (epochs: number[]) =>
      ({
        phase: 'Succeeded',
        trials: [{ trial: 'cnn', phase: 'Succeeded', epochs: 3, stoppedEarly: false, history: epochs.map(epoch) }],
      }) as unknown as SweepReport;
    expect(missingSuccesses(report([2, 3]), [trial('cnn', 'Succeeded')])).toEqual(['cnn']);
    expect(missingSuccesses(report([1, 2]), [trial('cnn', 'Succeeded')])).toEqual(['cnn']);
    expect(isFinalReport(report([2, 3]), [trial('cnn', 'Succeeded')])).toBe(false);
    expect(isFinalReport(report([1, 2, 3]), [trial('cnn', 'Succeeded')])).toBe(true);
  });

  it('is whatever the store holds for a cancelled sweep when no evaluator can finalize it (nothing: 404)', async () => {
    const reports = createReportReader({
      store: openStore(`file://${dir}`),
      logger: createLogger({ service: 'test', silent: true }),
    });
    await expect(reports.final(sweep('Cancelled'), [trial('cnn', 'Cancelled')])).resolves.toBeUndefined();
  });
});
