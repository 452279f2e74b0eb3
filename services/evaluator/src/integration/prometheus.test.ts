/**
 * The service as deployed (main.ts wiring, real NATS, file store) scraped by a real Prometheus:
 * the exposition passes `promtool check metrics`, and PromQL over the scraped series gives the
 * numbers of the hand-built sweep.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keys } from '@fersweep/contracts';
import { connectNatsBus, type NatsBus } from '@fersweep/messaging';
import {
  promtoolCheckMetrics,
  startNats,
  startPrometheus,
  type RunningPrometheus,
  type RunningServer,
} from '@fersweep/testkit';
import { loadConfig } from '../config.js';
import { startEvaluatorService, type EvaluatorService } from '../service.js';
import { handBuiltSweep, sweepSpec } from '../testing/fixtures.js';
import { eventually, memoryLogger, tempStore } from '../testing/harness.js';

const SWEEP = 'prom';
let nats: RunningServer;
let prometheus: RunningPrometheus | undefined;
let service: EvaluatorService;
let publisher: NatsBus;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  nats = await startNats();
  const temp = await tempStore();
  cleanup = temp.cleanup;
  await temp.store.put(keys.sweepSpec(SWEEP), JSON.stringify(sweepSpec(SWEEP)));
  const config = loadConfig({
    NATS_URL: nats.url,
    FERSWEEP_STORE: temp.dir,
    FERSWEEP_PORT: '0',
    FERSWEEP_HOST: '127.0.0.1',
    // Events are hand-published here, without a coordinator's launch.
    FERSWEEP_VERIFY_LAUNCHES: 'false',
  });
  service = await startEvaluatorService(config, { logger: memoryLogger('error').logger });
  publisher = await connectNatsBus({ url: nats.url, name: 'trainer' });
  for (const e of handBuiltSweep(SWEEP)) await publisher.publish(e);
  await eventually(
    async () => (await service.evaluator.report(SWEEP))?.phase === 'Succeeded' || undefined,
    'the sweep',
  );
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await publisher?.close();
  await service?.shutdown();
  await nats?.stop();
  await cleanup?.();
});

describe('evaluator metrics', () => {
  it('expose a Prometheus exposition that promtool accepts without a lint problem', async () => {
    const res = await fetch(`http://127.0.0.1:${service.port}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    expect(body).toContain('fersweep_trial_confusion_images{');
    expect(body).toContain('fersweep_evaluator_process_cpu_seconds_total');
    const { code, output } = await promtoolCheckMetrics(body);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('are scraped by a real Prometheus, and PromQL gives the sweep’s numbers', async () => {
    prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${service.port}`] });
    const value = (samples: { metric: Record<string, string>; value: number }[], label: string) =>
      Object.fromEntries(samples.map((s) => [s.metric[label], s.value]));

    const up = await prometheus.waitFor('up{job="fersweep"} == 1');
    expect(up).toHaveLength(1);
    const val = await prometheus.waitFor(
      `fersweep_trial_accuracy_ratio{sweep="${SWEEP}",split="val"}`,
      (s) => s.length === 2,
    );
    expect(value(val, 'trial')).toEqual({ cnn: 0.64, mobilenet: 0.42 });
    expect(val[0]!.metric).toMatchObject({ job: 'fersweep', variant: val[0]!.metric.trial });
    expect(value(await prometheus.query(`fersweep_trial_epoch{sweep="${SWEEP}"}`), 'trial')).toEqual({
      cnn: 3,
      mobilenet: 3,
    });
    expect(
      value(await prometheus.query(`fersweep_trial_evaluation_accuracy_ratio{sweep="${SWEEP}",split="test"}`), 'trial'),
    ).toEqual({ cnn: 12 / 14, mobilenet: 8 / 14 });
    expect(
      value(
        await prometheus.query(`fersweep_trial_confusion_images{sweep="${SWEEP}",true="disgust",predicted="angry"}`),
        'trial',
      ),
    ).toEqual({ cnn: 1, mobilenet: 2 });
    expect(
      value(
        await prometheus.query(`fersweep_trial_class_f1_ratio{sweep="${SWEEP}",trial="mobilenet",split="test"}`),
        'class',
      ),
    ).toEqual({ angry: 0.4, disgust: 0, fear: 0, happy: 2 / 3, sad: 0.8, surprise: 1, neutral: 4 / 7 });
    expect(
      value(
        await prometheus.query(`sum by (trial) (fersweep_trial_confusion_images{sweep="${SWEEP}",split="test"})`),
        'trial',
      ),
    ).toEqual({ cnn: 14, mobilenet: 14 });
    expect(value(await prometheus.query(`fersweep_sweep_trials{sweep="${SWEEP}"}`), 'phase')).toEqual({
      Pending: 0,
      Running: 0,
      Succeeded: 2,
      Failed: 0,
      Stopped: 0,
    });
    expect(value(await prometheus.query('sum by (type) (fersweep_evaluator_events_total)'), 'type')).toEqual({
      'trial.started': 2,
      'trial.epoch': 6,
      'trial.evaluated': 2,
      'trial.completed': 2,
      'trial.failed': 1,
    });
    expect((await prometheus.query('fersweep_evaluator_consumer_lag_events'))[0]!.value).toBe(0);
    expect((await prometheus.query('sum(fersweep_evaluator_invalid_events_total)'))[0]!.value).toBe(0);
  });
});
