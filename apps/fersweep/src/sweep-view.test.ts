import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import type { SweepView, TrialView } from './api.js';
import { sweepProgress, sweepTable } from './sweep-view.js';
import { formatDuration } from './trial-status.js';

/** A stream that says it is a terminal, so cli-progress draws its bars into `text`. */
function fakeTerminal() {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200, rows: 40 });
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const epoch = (n: number, seconds?: number) => ({
  epoch: n,
  loss: 1.2,
  accuracy: 0.5,
  valLoss: 1.3,
  valAccuracy: 0.45,
  ...(seconds !== undefined ? { seconds } : {}),
});

const trial = (over: Partial<TrialView>): TrialView => ({
  trial: 'cnn',
  variant: 'cnn',
  model: 'cnn',
  phase: 'Running',
  attempts: 1,
  failures: 0,
  preemptions: 0,
  ...over,
});

const sweep = (trials: TrialView[]): SweepView => ({
  id: 's',
  phase: 'Running',
  createdAt: '2026-01-01T00:00:00Z',
  trialCount: trials.length,
  trials,
  spec: { spec: { epochs: 30, dataset: 'file:///d' } },
});

describe('sweep progress bars', () => {
  it('shows an ETA computed from epoch durations, never a placeholder like "NFs"', async () => {
    let now = 1_000_000;
    const term = fakeTerminal();
    const view = sweepProgress(term.stream, () => now);
    // Polled several times at the same epoch, as the embedded run does every 500 ms.
    for (let i = 0; i < 5; i++) {
      view.update(sweep([trial({ lastEpoch: epoch(10, 6) }), trial({ trial: 'mnv2', phase: 'Queued' })]));
      now += 500;
    }
    view.stop();
    const out = term.text();
    expect(out).not.toMatch(/NFs|INF|NULL/);
    expect(out).toMatch(/10\/30 \| Running\s+\| loss 1\.200 \| val acc 0\.450 \| ETA 1m5\ds/); // 20 epochs × 6 s, counting down
    expect(out).toMatch(/mnv2 .* 0\/30 \| Queued\s+\| .*\| queued/);
  });

  it('says where a trial stopped early and which epoch its model comes from', () => {
    const term = fakeTerminal();
    const view = sweepProgress(term.stream);
    const done = trial({
      phase: 'Succeeded',
      lastEpoch: epoch(29, 5),
      stoppedEarly: true,
      bestEpoch: 19,
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:03:12Z',
    });
    view.update(sweep([done]));
    view.stop();
    expect(term.text()).toMatch(/29\/30 \| Succeeded: stopped early at 29\/30 \(best 19\) \| .* \| took 3m12s/);
    expect(sweepTable({ ...sweep([done]), phase: 'Succeeded' })).toMatch(/29\/30 \(stopped early, best 19\)/);
    // Between trial.completed and the end of its process: no time left to count.
    const finishing = fakeTerminal();
    const view2 = sweepProgress(finishing.stream);
    view2.update(sweep([{ ...done, phase: 'Running', finishedAt: undefined }]));
    view2.stop();
    expect(finishing.text()).toMatch(/29\/30 \| Running: stopped early at 29\/30 \(best 19\) \| .* \| finishing/);
  });

  it('shows a trial the sweep scheduler stopped as Stopped with its rung, as done (no ETA)', () => {
    const stopped = trial({
      trial: 'cnn-1',
      phase: 'Stopped',
      lastEpoch: epoch(4, 5),
      stopped: {
        epoch: 4,
        rung: 4,
        threshold: 0.5,
        reason: 'valAccuracy 0.45 is outside the top 1/3 (cutoff 0.5) at epoch 4',
      },
      message: 'valAccuracy 0.45 is outside the top 1/3 (cutoff 0.5) at epoch 4',
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:00:20Z',
    });
    expect(sweepTable(sweep([stopped]))).toMatch(/cnn-1 +cnn +Stopped at rung 4 +4\/30 /);
    const term = fakeTerminal();
    const view = sweepProgress(term.stream);
    view.update(sweep([stopped]));
    view.stop();
    expect(term.text()).toMatch(/4\/30 \| Stopped at rung 4 \| .* \| took 20s/);
  });

  it('writes one line per change on a pipe, with the ETA', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (c: Buffer) => (text += c.toString()));
    const view = sweepProgress(stream);
    view.update(sweep([trial({ lastEpoch: epoch(1, 60) })]));
    view.update(sweep([trial({ lastEpoch: epoch(1, 60) })]));
    view.stop();
    expect(text).toBe('cnn: Running epoch 1/30 loss 1.200 val acc 0.450 | ETA 29m00s\n');
  });

  it('formats durations as a person reads them', () => {
    expect([5, 59.6, 192, 3600 + 5 * 60 + 20].map(formatDuration)).toEqual(['5s', '1m00s', '3m12s', '1h05m']);
  });
});

describe('search points in the status table', () => {
  it("shows each trial's point (TPE: once suggested), and no column without a search", () => {
    const text = sweepTable(
      sweep([
        trial({ trial: 'cnn-0-r0', search: { configuration: 0, point: { learningRate: 0.0012345, width: 1 } } }),
        trial({ trial: 'cnn-1-r0', phase: 'Pending', search: { configuration: 1 } }),
      ]),
    );
    expect(text).toMatch(/attempts {2}point +message/);
    expect(text).toMatch(/cnn-0-r0 .* learningRate=0\.00123 width=1/);
    expect(text).toMatch(/cnn-1-r0 .* \(at launch\)/);
    expect(sweepTable(sweep([trial({})]))).not.toMatch(/point/);
  });
});
