/**
 * Every Grafana panel's PromQL, evaluated by a real Prometheus scraping a real coordinator and a
 * real evaluator: a panel whose query returns no series would show "No data", so it fails here.
 * The evaluator (main.ts wiring, real NATS, file store) consumes the hand-built events of a small
 * two-trial sweep; the coordinator (NATS-backed state, local launcher running the fake trainer)
 * runs a real sweep submitted over its API, so its request, submission, scheduling and phase
 * metrics exist. Dashboard variables are substituted with the sweep's real values.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys } from '@fersweep/contracts';
import { LocalLauncher, startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { loadConfig, startEvaluatorService, type EvaluatorService } from '@fersweep/evaluator';
import { connectNatsBus, type NatsBus } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import {
  promtoolCheckMetrics,
  startNats,
  startPrometheus,
  type RunningPrometheus,
  type RunningServer,
} from '@fersweep/testkit';
import { FAKE_TRAINER_MODELS, FAKE_TRAINER_PATH } from '@fersweep/coordinator/testing';
import { handBuiltSweep, sweepSpec } from '@fersweep/evaluator/testing';
import { ROOT } from './render.js';

const SWEEP = 'chart';
const TRIAL = 'cnn';
/** The namespace label a ServiceMonitor's targets carry (the install the dashboards look at). */
const NAMESPACE = 'sweeps';
const DASHBOARDS = ['sweep-overview.json', 'operations.json'];
const FAKE_TRAINER = FAKE_TRAINER_PATH;

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: { query: string } | string }[] };
}

/** Grafana's variables with real values: the sweep, one of its trials, a rate window of 2 scrapes+. */
function substitute(expr: string, namespace = NAMESPACE): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$namespace', namespace)
    .replaceAll('$sweep', SWEEP)
    .replaceAll('$trial', TRIAL);
}

async function loadDashboards(): Promise<{ file: string; dashboard: Dashboard }[]> {
  return Promise.all(
    DASHBOARDS.map(async (file) => ({
      file,
      dashboard: JSON.parse(await readFile(join(ROOT, 'helm/fersweep/files/dashboards', file), 'utf8')) as Dashboard,
    })),
  );
}

const queries = (panels: Panel[]): { panel: string; expr: string }[] =>
  panels.flatMap((p) => [
    ...(p.targets ?? []).map((t) => ({ panel: `${p.title} [${t.refId}]`, expr: t.expr })),
    ...queries(p.panels ?? []),
  ]);

let dir: string;
let nats: RunningServer;
let evaluator: EvaluatorService;
let coordinator: Coordinator;
let publisher: NatsBus;
let prometheus: RunningPrometheus;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-dashboards-'));
  nats = await startNats();
  const store = openStore(`file://${dir}/store`);
  await store.put(keys.sweepSpec(SWEEP), JSON.stringify(sweepSpec(SWEEP)));
  const silent = createLogger({ service: 'test', silent: true });
  evaluator = await startEvaluatorService(
    // Events are hand-published here, without a coordinator's launch.
    loadConfig({
      NATS_URL: nats.url,
      FERSWEEP_STORE: `${dir}/store`,
      FERSWEEP_PORT: '0',
      FERSWEEP_HOST: '127.0.0.1',
      FERSWEEP_VERIFY_LAUNCHES: 'false',
    }),
    { logger: silent },
  );
  coordinator = await startCoordinator({
    env: {
      PATH: process.env.PATH ?? '',
      NATS_URL: nats.url,
      FERSWEEP_STORE: `file://${dir}/store`,
      FERSWEEP_API_TOKENS: 'tok',
    },
    port: 0,
    host: '127.0.0.1',
    logger: silent,
    launcher: new LocalLauncher({ command: [process.execPath, FAKE_TRAINER], maxConcurrent: 2, logger: silent }),
    models: FAKE_TRAINER_MODELS,
  });
  prometheus = await startPrometheus({
    scrapeTargets: [new URL(coordinator.url).host, `127.0.0.1:${evaluator.port}`],
    targetLabels: { namespace: NAMESPACE },
  });
  await prometheus.waitFor('up == 1', (s) => s.length === 2);

  // After the first scrapes, so that counters and histograms are seen increasing (rate > 0).
  const headers = { authorization: 'Bearer tok', 'content-type': 'application/json' };
  const spec = {
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'chart-coordinator' },
    spec: {
      dataset: 's3://fersweep/nowhere', // a cluster coordinator (NATS) reads datasets from s3:// only
      epochs: 1,
      variants: [
        { name: 'ok', model: 'cnn', params: { stateDir: dir } },
        { name: 'bad', model: 'cnn', params: { stateDir: dir, exitCodes: [42] } },
      ],
      parallelism: 2,
      retries: 0,
    },
  };
  const res = await fetch(`${coordinator.url}/v1/sweeps`, { method: 'POST', headers, body: JSON.stringify(spec) });
  expect(res.status).toBe(201);
  publisher = await connectNatsBus({ url: nats.url, name: 'trainer' });
  for (const e of handBuiltSweep(SWEEP)) await publisher.publish(e);
  await prometheus.waitFor(`fersweep_sweep_trials{sweep="${SWEEP}",phase="Succeeded"} == 2`);
  await prometheus.waitFor('sum(fersweep_coordinator_trials{phase=~"Succeeded|Failed"}) == 2');
  for (let i = 0; i < 3; i++) await fetch(`${coordinator.url}/v1/sweeps`, { headers });
  // Two more scrapes, so every rate over the last minute has two samples after the sweep.
  await new Promise((r) => setTimeout(r, 1500));
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await publisher?.close();
  await coordinator?.stop();
  await evaluator?.shutdown();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('/metrics of both services', () => {
  it.each(['coordinator', 'evaluator'])('the %s’s exposition passes promtool check metrics', async (service) => {
    const url = service === 'coordinator' ? coordinator.url : `http://127.0.0.1:${evaluator.port}`;
    const body = await (await fetch(`${url}/metrics`)).text();
    expect(body).toContain(`fersweep_${service}_process_resident_memory_bytes`);
    const { code, output } = await promtoolCheckMetrics(body);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});

describe('Grafana dashboards', () => {
  it('are valid dashboards with a Prometheus datasource variable and unique panel ids', async () => {
    for (const { file, dashboard } of await loadDashboards()) {
      expect(dashboard.uid).toMatch(/^fersweep-/);
      expect(dashboard.templating.list.find((v) => v.type === 'datasource')).toMatchObject({ name: 'datasource' });
      const ids = JSON.stringify(dashboard.panels).match(/"id":\d+/g) ?? [];
      expect(new Set(ids).size).toBe(ids.length);
      expect(queries(dashboard.panels).length).toBeGreaterThan(5);
      expect(file).toMatch(/\.json$/);
    }
  });

  it('every panel query returns series from a real Prometheus scraping a real coordinator and evaluator', async () => {
    const empty: string[] = [];
    let evaluated = 0;
    for (const { file, dashboard } of await loadDashboards())
      for (const { panel, expr } of queries(dashboard.panels)) {
        const promql = substitute(expr);
        expect(promql).not.toMatch(/\$/);
        const samples = await prometheus.query(promql);
        evaluated++;
        if (samples.length === 0) empty.push(`${file} / ${panel}: ${promql}`);
      }
    expect(empty).toEqual([]);
    expect(evaluated).toBeGreaterThanOrEqual(25);
  });

  it('every query is scoped to the $namespace install: another namespace shows nothing', async () => {
    const leaking: string[] = [];
    for (const { file, dashboard } of await loadDashboards())
      for (const { panel, expr } of queries(dashboard.panels))
        if ((await prometheus.query(substitute(expr, 'another-install'))).length > 0)
          leaking.push(`${file} / ${panel}`);
    expect(leaking).toEqual([]);
  });

  it('series grouped by a label carry that label (no empty sweep, route or phase)', async () => {
    const unlabelled: string[] = [];
    for (const { file, dashboard } of await loadDashboards())
      for (const { panel, expr } of queries(dashboard.panels)) {
        const by = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()));
        const labels = by.filter((l) => l !== 'le');
        for (const s of await prometheus.query(substitute(expr)))
          for (const l of labels) if (!s.metric[l]) unlabelled.push(`${file} / ${panel}: ${l} empty in ${expr}`);
      }
    expect(unlabelled).toEqual([]);
  });

  it('variable queries list the sweep and its trials', async () => {
    const overview = (await loadDashboards())[0]!.dashboard;
    const values = async (name: string) => {
      const v = overview.templating.list.find((x) => x.name === name)!;
      const q = typeof v.query === 'string' ? v.query : v.query!.query;
      const m = /^label_values\((.*), (\w+)\)$/.exec(q)!;
      const samples = await prometheus.query(substitute(m[1]!));
      return [...new Set(samples.map((s) => s.metric[m[2]!]))].sort();
    };
    expect(await values('namespace')).toEqual([NAMESPACE]);
    expect(await values('sweep')).toEqual([SWEEP]);
    expect(await values('trial')).toEqual(['cnn', 'mobilenet']);
  });

  it('the panels show the sweep’s numbers (spot checks)', async () => {
    const value = async (promql: string) => (await prometheus.query(promql)).map((s) => s.value);
    expect(
      await value(`fersweep_trial_evaluation_accuracy_ratio{sweep="${SWEEP}",trial="${TRIAL}",split="test"}`),
    ).toEqual([12 / 14]);
    expect(await value(`sum(fersweep_trial_confusion_images{sweep="${SWEEP}",trial="${TRIAL}",split="test"})`)).toEqual(
      [14],
    );
    expect(await value('sum(fersweep_sweeps)')).toEqual([1]);
  });
});
