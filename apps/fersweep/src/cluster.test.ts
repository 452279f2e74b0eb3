import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { expandTrials, SweepSpec, type SweepId } from '@fersweep/contracts';
import { LocalLauncher, startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { buildReport, SweepAggregator } from '@fersweep/evaluator';
import { createLogger } from '@fersweep/observability';
import { FAKE_TRAINER_MODELS, FAKE_TRAINER_PATH } from '@fersweep/coordinator/testing';
import { epochBody, event } from '@fersweep/evaluator/testing';
import { ApiCallError, type ApiClient } from './api.js';
import { reportOf } from './commands/cluster.js';
import { cli } from './testing/cli.js';

// The coordinator's test stand-in for `fersweep train`: exits as the trial params say.
const FAKE = FAKE_TRAINER_PATH;
let dir: string;
let coordinator: Coordinator;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-cli-cluster-'));
  const logger = createLogger({ service: 'coordinator', silent: true });
  coordinator = await startCoordinator({
    env: { FERSWEEP_STORE: `file://${dir}/store`, FERSWEEP_STATE_DIR: join(dir, 'state'), FERSWEEP_API_TOKENS: 'tok' },
    port: 0,
    host: '127.0.0.1',
    logger,
    launcher: new LocalLauncher({ command: [process.execPath, FAKE], maxConcurrent: 4, logger, killGraceMs: 2000 }),
    models: FAKE_TRAINER_MODELS,
  });
  process.env.FERSWEEP_TOKEN = 'tok';
});
afterAll(async () => {
  delete process.env.FERSWEEP_TOKEN;
  await coordinator.stop();
  await rm(dir, { recursive: true, force: true });
});

const spec = (name: string, sleepMs: number) => ({
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name },
  spec: {
    dataset: 'file:///nowhere',
    epochs: 2,
    variants: [
      { name: 'cnn', model: 'cnn', params: { stateDir: dir, sleepMs } },
      { name: 'mnv2', model: 'mobilenetv2', params: { stateDir: dir, sleepMs } },
    ],
  },
});

describe('cluster verbs', () => {
  it('submit --watch follows a sweep to Succeeded; status shows and lists it; logs prints the trainer log', async () => {
    const file = join(dir, 'sweep.yaml');
    await writeFile(file, stringify(spec('cli-one', 100)));
    const api = ['--api', coordinator.url];
    const sub = await cli('submit', file, ...api, '--watch');
    expect(sub.err).toBe('');
    expect(sub.code).toBe(0);
    expect(sub.out).toMatch(/submitted: sweep cli-one with 2 trials/);
    expect(sub.out).toMatch(/sweep cli-one: Succeeded/);
    expect((await cli('submit', file, ...api)).out).toMatch(/already submitted: sweep cli-one/);

    const status = await cli('status', 'cli-one', ...api);
    expect(status.out).toMatch(/trial\s+model\s+phase\s+epoch\s+loss\s+val acc\s+attempts/);
    expect(status.out).toMatch(/cnn\s+cnn\s+Succeeded/);
    expect((await cli('status', ...api)).out).toMatch(/cli-one\s+Succeeded\s+2/);
    expect((await cli('logs', 'cli-one', 'mnv2', ...api)).out).toMatch(/attempt 1 of mnv2/);
  });

  it("-o json|yaml gives the API's own documents: submit, status (one and the list), report", async () => {
    const file = join(dir, 'out.yaml');
    await writeFile(file, stringify(spec('cli-out', 50)));
    const api = ['--api', coordinator.url];
    const sub = await cli('submit', file, ...api, '--watch', '-o', 'json');
    expect(sub).toMatchObject({ code: 0, err: '' });
    const final = JSON.parse(sub.out) as { id: string; phase: string; trials: { trial: string; phase: string }[] };
    expect(final).toMatchObject({ id: 'cli-out', phase: 'Succeeded', trialCount: 2 });
    const fromApi = await (
      await fetch(`${coordinator.url}/v1/sweeps/cli-out`, { headers: { authorization: 'Bearer tok' } })
    ).json();
    expect(final).toEqual(fromApi);
    const again = JSON.parse((await cli('submit', file, ...api, '-o', 'json')).out) as { id: string; phase: string };
    expect(again).toMatchObject({ id: 'cli-out', trialCount: 2 });

    expect(JSON.parse((await cli('status', 'cli-out', ...api, '-o', 'json')).out)).toEqual(fromApi);
    expect(parseYaml((await cli('status', 'cli-out', ...api, '-o', 'yaml')).out)).toEqual(fromApi);
    const list = JSON.parse((await cli('status', ...api, '--json')).out) as { items: { id: string; phase: string }[] };
    expect(list.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'cli-out', phase: 'Succeeded' })]),
    );

    // The report the evaluator would have stored (none runs here): what the coordinator serves once a sweep ended
    // — the final one, with both trials completed and every epoch in (the coordinator waits for that, issue 11/12).
    const aggregator = new SweepAggregator('cli-out' as SweepId);
    const parsed = SweepSpec.parse(spec('cli-out', 50));
    aggregator.setPlan(expandTrials(parsed), parsed.spec.retries);
    for (const trial of ['cnn', 'mnv2']) {
      for (const epoch of [1, 2])
        aggregator.apply(event('cli-out', trial, 'trial.epoch', epochBody(epoch, 0.5, 0.4, 1, 1.1)));
      aggregator.apply(
        event('cli-out', trial, 'trial.completed', {
          epochs: 2,
          bestEpoch: 2,
          stoppedEarly: false,
          modelUri: `file:///models/${trial}/`,
          seconds: 1,
        }),
      );
    }
    const stored = buildReport(aggregator.snapshot());
    await mkdir(join(dir, 'store/sweeps/cli-out/report'), { recursive: true });
    await writeFile(join(dir, 'store/sweeps/cli-out/report/report.json'), JSON.stringify(stored));
    const report = await cli('report', 'cli-out', ...api, '-o', 'json');
    expect(report.err).toBe('');
    expect(report.code).toBe(0);
    const r = JSON.parse(report.out) as unknown;
    expect(r).toEqual(stored);
    expect(parseYaml((await cli('report', 'cli-out', ...api, '-o', 'yaml')).out)).toEqual(r);
  });

  it('cancel stops a running sweep', async () => {
    const file = join(dir, 'slow.json');
    await writeFile(file, JSON.stringify(spec('cli-slow', 60_000)));
    await cli('submit', file, '--api', coordinator.url);
    const r = await cli('cancel', 'cli-slow', '--api', coordinator.url);
    expect(r.out).toBe('sweep cli-slow: Cancelled\n');
  });

  it.each([
    [['status', 'nope'], 1, /fersweep: error: no sweep 'nope'/],
    [['submit', '/no/such/file.yaml'], 2, /cannot read \/no\/such\/file\.yaml: no such file/],
    [['status', '--api', 'http://127.0.0.1:1'], 1, /cannot reach the coordinator at http:\/\/127\.0\.0\.1:1/],
    [['status', '--api', 'ftp://x'], 2, /--api must be an http\(s\) URL/],
  ])('%j fails with one clear line', async (argv, code, message) => {
    const withApi = argv.includes('--api') ? argv : [...argv, '--api', coordinator.url];
    const r = await cli(...withApi);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('submit exits 2 with the field when the coordinator refuses the spec, and nothing is created', async () => {
    const file = join(dir, 'unknown-model.yaml');
    await writeFile(
      file,
      stringify({
        ...spec('cli-bad', 10),
        spec: { ...spec('cli-bad', 10).spec, variants: [{ name: 'big', model: 'resnet9000' }] },
      }),
    );
    const r = await cli('submit', file, '--api', coordinator.url, '--watch');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `fersweep: error: ${file} was refused (InvalidSpec): spec.variants[0].model: unknown model 'resnet9000': use one of cnn, mobilenetv2\n`,
    );
    expect((await cli('status', 'cli-bad', '--api', coordinator.url)).err).toMatch(/no sweep 'cli-bad'/);
  });

  it('report asks again while the coordinator answers ReportPending, and gives up after three answers', async () => {
    let calls = 0;
    const api = {
      report: async () => {
        if (++calls < 3) throw new ApiCallError('ReportPending', 'not yet', 503);
        return { sweep: 'x' };
      },
    } as unknown as ApiClient;
    await expect(reportOf(api, 'x', 1)).resolves.toEqual({ sweep: 'x' });
    calls = -10;
    await expect(reportOf(api, 'x', 1)).rejects.toMatchObject({ code: 'ReportPending' });
    expect(calls).toBe(-7);
  });

  it('says when the token is refused', async () => {
    process.env.FERSWEEP_TOKEN = 'wrong';
    const r = await cli('status', '--api', coordinator.url);
    process.env.FERSWEEP_TOKEN = 'tok';
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/refused the request: missing or invalid bearer token/);
  });
});
