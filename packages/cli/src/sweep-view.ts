import cliProgress from 'cli-progress';
import type { SweepView, TrialView } from './api.js';
import { table } from './format.js';

const TERMINAL = ['Succeeded', 'Failed', 'Cancelled'];

export const isTerminal = (phase: string): boolean => TERMINAL.includes(phase);

/** The sweep as a table: one row per trial with its phase, epoch and metrics. */
export function sweepTable(s: SweepView): string {
  const epochs = s.spec?.spec.epochs;
  const rows = (s.trials ?? []).map((t: TrialView) => [
    t.trial,
    t.model,
    t.phase,
    t.lastEpoch ? `${t.lastEpoch.epoch}${epochs ? `/${epochs}` : ''}` : '-',
    t.lastEpoch ? t.lastEpoch.loss.toFixed(3) : '-',
    t.lastEpoch ? t.lastEpoch.valAccuracy.toFixed(3) : '-',
    t.attempts,
    (t.message ?? '').slice(0, 60),
  ]);
  return [
    `sweep ${s.id}: ${s.phase}`,
    table(rows, ['trial', 'model', 'phase', 'epoch', 'loss', 'val acc', 'attempts', 'message']),
  ].join('\n');
}

/**
 * Live progress: one bar per trial (epoch of epochs, loss, val accuracy, ETA), redrawn in place on
 * a terminal; on a pipe, one line per change instead.
 */
export function sweepProgress(stream: NodeJS.WriteStream = process.stderr) {
  const bars = new Map<string, cliProgress.SingleBar>();
  const lastLine = new Map<string, string>();
  const multi = stream.isTTY
    ? new cliProgress.MultiBar(
        {
          stream,
          format: '{trial} {bar} {epoch}/{epochs} | {phase} | loss {loss} | val acc {valAcc} | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 3,
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
        const payload = {
          trial: t.trial.padEnd(width),
          phase: t.phase.padEnd(9),
          epoch: e?.epoch ?? 0,
          epochs,
          loss: e ? e.loss.toFixed(3) : '  -  ',
          valAcc: e ? e.valAccuracy.toFixed(3) : '  -  ',
        };
        if (multi) {
          let bar = bars.get(t.trial);
          if (!bar) bars.set(t.trial, (bar = multi.create(epochs, payload.epoch, payload)));
          bar.update(payload.epoch, payload);
        } else {
          const line = `${t.trial}: ${t.phase} epoch ${payload.epoch}/${epochs} loss ${payload.loss} val acc ${payload.valAcc}`;
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
