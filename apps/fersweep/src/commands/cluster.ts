import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { ApiCallError, apiClient, type ApiClient } from '../api.js';
import { cannotRead, UsageError } from '../errors.js';
import type { Io } from './dataset.js';
import { isTerminal, sweepProgress, sweepTable } from '../sweep-view.js';
import type { SweepReport } from '@fersweep/contracts';
import { table } from '../format.js';
import { comparisonText } from './run.js';
import { emit, outputAsked, outputFormat, withOutput, type OutputFlags } from '../output.js';

interface ApiFlags {
  api?: string;
}

const client = (flags: ApiFlags): ApiClient =>
  apiClient({
    url: flags.api ?? process.env.FERSWEEP_API ?? 'http://127.0.0.1:8080',
    ...(process.env.FERSWEEP_TOKEN ? { token: process.env.FERSWEEP_TOKEN } : {}),
  });

/**
 * Follows a sweep until it ends: bars on a terminal, lines otherwise (on stderr). Prints the final
 * sweep in the format `flags` ask for and returns its phase.
 */
export async function watchSweep(
  api: ApiClient,
  id: string,
  io: Io,
  intervalMs = 2000,
  flags: OutputFlags = {},
): Promise<string> {
  const view = sweepProgress();
  try {
    for (;;) {
      const s = await api.get(id);
      view.update(s);
      if (isTerminal(s.phase)) {
        view.stop();
        emit(io, flags, s, () => sweepTable(s));
        return s.phase;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    view.stop();
  }
}

/**
 * A sweep's report. The coordinator answers an ended sweep's report only once it is final, waiting for
 * the evaluator up to its FERSWEEP_REPORT_WAIT_SECONDS, then 503 ReportPending: asked twice more here,
 * a few seconds apart, before that becomes the error.
 */
export async function reportOf(api: ApiClient, id: string, pauseMs = 5000): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.report(id);
    } catch (err) {
      if (!(err instanceof ApiCallError && err.code === 'ReportPending') || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}

/** submit / status / cancel / logs / report: the cluster verbs, all through the coordinator API. */
export function clusterCommands(io: Io, setExitCode: (code: number) => void): Command[] {
  const apiOption = [
    '--api <url>',
    'coordinator URL (default FERSWEEP_API or http://127.0.0.1:8080); token from FERSWEEP_TOKEN',
  ] as const;

  const submit = new Command('submit')
    .description('submit a sweep spec (YAML or JSON) to the coordinator')
    .argument('<spec>', 'sweep spec file (see examples/)')
    .option(...apiOption)
    .option('--watch', 'follow the sweep until it ends (exit 0 only if it succeeded)')
    .action(async (path: string, flags: ApiFlags & OutputFlags & { watch?: boolean }) => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw cannotRead(path, err);
      }
      const api = client(flags);
      const type = /\.json$/i.test(path) || text.trimStart().startsWith('{') ? 'application/json' : 'application/yaml';
      let submitted: Awaited<ReturnType<ApiClient['submit']>>;
      try {
        submitted = await api.submit(text, type, randomUUID());
      } catch (err) {
        // The coordinator checked the spec and refused it: the user's to fix (exit 2), like a local check.
        if (err instanceof ApiCallError && err.status === 422)
          throw new UsageError(`${path} was refused (${err.code}): ${err.message}`, { cause: err });
        throw err;
      }
      const { created, sweep } = submitted;
      // With --watch and -o json|yaml, the one document printed is the final sweep.
      if (!flags.watch || outputFormat(flags) === 'table')
        emit(
          io,
          flags,
          sweep,
          () =>
            `${created ? 'submitted' : 'already submitted'}: sweep ${sweep.id} with ${sweep.trialCount} trials (${sweep.phase})`,
        );
      if (flags.watch) setExitCode((await watchSweep(api, sweep.id, io, 2000, flags)) === 'Succeeded' ? 0 : 1);
    });

  const status = new Command('status')
    .description('list sweeps, or show one sweep with the progress of every trial')
    .argument('[id]', 'sweep id')
    .option(...apiOption)
    .option('--watch', 'follow the sweep until it ends')
    .action(async (id: string | undefined, flags: ApiFlags & OutputFlags & { watch?: boolean }) => {
      const api = client(flags);
      if (!id) {
        const all = await api.list();
        // The shape of GET /v1/sweeps, every page joined.
        emit(io, flags, { items: all }, () =>
          all.length
            ? table(
                all.map((s) => [s.id, s.phase, s.trialCount, s.createdAt]),
                ['sweep', 'phase', 'trials', 'created'],
              )
            : 'no sweeps',
        );
        return;
      }
      if (flags.watch) {
        setExitCode((await watchSweep(api, id, io, 2000, flags)) === 'Succeeded' ? 0 : 1);
        return;
      }
      const s = await api.get(id);
      emit(io, flags, s, () => sweepTable(s));
    });

  const cancel = new Command('cancel')
    .description('cancel a sweep: stops and deletes its running trials')
    .argument('<id>', 'sweep id')
    .option(...apiOption)
    .action(async (id: string, flags: ApiFlags) => {
      const s = await client(flags).cancel(id);
      io.out(`sweep ${s.id}: ${s.phase}\n`);
    });

  const logs = new Command('logs')
    .description("print a trial's trainer log (latest attempt)")
    .argument('<id>', 'sweep id')
    .argument('<trial>', 'trial id')
    .option(...apiOption)
    .action(async (id: string, trial: string, flags: ApiFlags) => {
      io.out(await client(flags).logs(id, trial));
    });

  const report = new Command('report')
    .description("fetch a sweep's comparison report (live while it runs, stored once it ended)")
    .argument('<id>', 'sweep id')
    .option(...apiOption)
    .option('--out <dir>', 'write report.json and index.html there')
    .action(async (id: string, flags: ApiFlags & OutputFlags & { out?: string }) => {
      const api = client(flags);
      const r = (await reportOf(api, id)) as SweepReport;
      if (flags.out) {
        await mkdir(flags.out, { recursive: true });
        await writeFile(join(flags.out, 'report.json'), JSON.stringify(r, null, 2) + '\n');
        await writeFile(join(flags.out, 'index.html'), await api.reportHtml(id));
        io.out(`report of sweep ${id} written to ${join(flags.out, 'index.html')}\n`);
      }
      if (!flags.out || outputAsked(flags)) emit(io, flags, r, () => comparisonText(r));
    });

  for (const c of [submit, status, report]) withOutput(c);
  return [submit, status, cancel, logs, report];
}
