import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number, unit: string): void;
  stop(): void;
}

function human(n: number, unit: string): string {
  if (unit !== 'bytes') return `${n}`;
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/**
 * A progress bar on stderr when it is a terminal (cli-progress); silent otherwise, so logs and
 * pipes stay clean.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} {bar} {percentage}% | {doneH} / {totalH} {unit} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const t0 = Date.now();
  return {
    update(done, total, unit) {
      const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
      const payload = {
        doneH: human(done, unit),
        totalH: human(total, unit),
        unit: unit === 'bytes' ? '' : unit,
        rate: human(Math.round(done / secs), unit),
      };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
