import cliProgress from 'cli-progress';
import type { SweepView, TrialView } from './api.js';
import { table } from './format.js';
import { earlyStop, EpochClock, trialPhase, trialStatus } from './trial-status.js';

const TERMINAL = ['Succeeded', 'Failed', 'Cancelled', 'Stopped'];

export const isTerminal = (phase: string): boolean => TERMINAL.includes(phase);

/** A search point in a table cell: `learningRate=0.00123 dropout=0.31` (floats to 3 significant digits). */
export function pointText(point: Record<string, string | number | boolean>): string {
  return Object.keys(point)
    .sort()
    .map((k) => {
      const v = point[k]!;
      return `${k}=${typeof v === 'number' && !Number.isInteger(v) ? +v.toPrecision(3) : String(v)}`;
    })
    .join(' ');
}

/**
 * The sweep as a table: one row per trial with its phase, epoch and metrics; for a search, the
 * point each trial tries (a TPE trial shows `(at launch)` until its point is suggested).
 */
export function sweepTable(s: SweepView): string {
  const epochs = s.spec?.spec.epochs;
  const searched = (s.trials ?? []).some((t) => t.search);
  const rows = (s.trials ?? []).map((t: TrialView) => [
    t.trial,
    t.model,
    trialPhase(t),
    t.lastEpoch ? `${t.lastEpoch.epoch}${epochs ? `/${epochs}` : ''}${earlyStop(t)}` : '-',
    t.lastEpoch ? t.lastEpoch.loss.toFixed(3) : '-',
    t.lastEpoch ? t.lastEpoch.valAccuracy.toFixed(3) : '-',
    t.attempts,
    ...(searched ? [t.search?.point ? pointText(t.search.point) : t.search ? '(at launch)' : '-'] : []),
    (t.message ?? '').slice(0, 60),
  ]);
  const header = ['trial', 'model', 'phase', 'epoch', 'loss', 'val acc', 'attempts'];
  return [`sweep ${s.id}: ${s.phase}`, table(rows, [...header, ...(searched ? ['point'] : []), 'message'])].join('\n');
}

/**
 * Live progress: one bar per trial (epoch of epochs, phase — and how an early stop ended it —, loss,
 * val accuracy, and the time left from the epochs' own durations), redrawn in place on a terminal;
 * on a pipe, one line per change instead. `now` is injectable so the ETA is testable.
 */
export function sweepProgress(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now) {
  const bars = new Map<string, cliProgress.SingleBar>();
  const lastLine = new Map<string, string>();
  const clock = new EpochClock(now);
  const multi = stream.isTTY
    ? new cliProgress.MultiBar(
        {
          stream,
          // cli-progress' own {eta_formatted} extrapolates from bar updates; polled at a steady
          // epoch it reads "INF" (printed as "NFs"), so the ETA comes from epoch durations instead.
          format: '{trial} {bar} {epoch}/{epochs} | {phase} | loss {loss} | val acc {valAcc} | {left}',
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  return {
    update(s: SweepView) {
      const epochs = s.spec?.spec.epochs ?? 1;
      const width = Math.max(...(s.trials ?? []).map((t) => t.trial.length), 5);
      for (const t of s.trials ?? []) {
        const e = t.lastEpoch;
        clock.observe(t);
        const status = trialStatus(t, epochs);
        const payload = {
          trial: t.trial.padEnd(width),
          phase: status.padEnd(9),
          epoch: e?.epoch ?? 0,
          epochs,
          loss: e ? e.loss.toFixed(3) : '  -  ',
          valAcc: e ? e.valAccuracy.toFixed(3) : '  -  ',
          left: clock.eta(t, epochs, true),
        };
        if (multi) {
          let bar = bars.get(t.trial);
          if (!bar) bars.set(t.trial, (bar = multi.create(epochs, payload.epoch, payload)));
          bar.update(payload.epoch, payload);
        } else {
          const line = `${t.trial}: ${status} epoch ${payload.epoch}/${epochs} loss ${payload.loss} val acc ${payload.valAcc} | ${clock.eta(t, epochs, false)}`;
          if (lastLine.get(t.trial) !== line) stream.write(`${line}\n`);
          lastLine.set(t.trial, line);
        }
      }
    },
    stop() {
      multi?.stop();
    },
  };
}
