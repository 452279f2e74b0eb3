/**
 * The hostile-input suite's world: a real nats-server, the coordinator (NATS KV state, so cluster
 * mode: file:// datasets refused) with tenants and policies from a tenants document, the local
 * launcher running a trainer that only sleeps, and the evaluator on the same NATS and tenants. Every
 * probe asserts its status and stable code, that both servers still answer /healthz, and that nothing
 * was stored (coordinator KV keys, objects under sweeps/) or started (launcher runs).
 */
import { expect } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalLauncher, startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { loadConfig, startEvaluatorService, type EvaluatorService } from '@fersweep/evaluator';
import { createLogger, tokenSha256 } from '@fersweep/observability';
import { openStore, type ObjectStore } from '@fersweep/storage';
import { startNats, type RunningServer } from '@fersweep/testkit';

export const TOKENS = {
  acme: 'acme-7f3c9a1e5b2d8c4f6a0e9b3d7c1f5a2e',
  beta: 'beta-2b8e4f6a1c9d3e7b5f0a2c8e4d6b1f9a',
  ops: 'ops-9d1f3b5e7a2c4e6f8b0d2a4c6e8f1b3d',
  legacy: 'legacy-4e6a8c0e2b4d6f8a1c3e5b7d9f2a4c6e',
};

/** The tenants document the suite's coordinator and evaluator read (FERSWEEP_TENANTS). */
export const TENANTS = {
  defaults: {
    policy: { maxCpu: '16', maxMemory: '64Gi', maxGpu: 4, maxTrials: 20, maxParallelism: 8 },
  },
  tenants: [
    {
      name: 'acme',
      tokens: [{ sha256: tokenSha256(TOKENS.acme) }],
      policy: {
        datasets: ['s3://fer-data/acme/'],
        priorityClasses: ['batch-low'],
        queues: ['acme-queue'],
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        nodeSelectors: { 'nvidia.com/gpu.product': ['NVIDIA-L4'] },
        maxGpu: 2,
      },
    },
    { name: 'beta', tokens: [{ sha256: tokenSha256(TOKENS.beta) }], policy: { datasets: ['s3://fer-data/beta/'] } },
    { name: 'ops', role: 'admin', tokens: [{ sha256: tokenSha256(TOKENS.ops) }] },
  ],
};

/** A spec acme may submit; `over` replaces fields of `spec`. */
export function acmeSpec(name: string, over: Record<string, unknown> = {}, params: Record<string, unknown> = {}) {
  return {
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name },
    spec: {
      dataset: 's3://fer-data/acme/fer2013',
      epochs: 1,
      parallelism: 1,
      queueName: 'acme-queue',
      resources: { gpu: 0, cpu: '1', memory: '1Gi' },
      variants: [{ name: 'cnn', model: 'cnn', params }],
      ...over,
    },
  };
}

export interface World {
  coordinator: Coordinator;
  evaluator: EvaluatorService;
  api: string;
  evaluatorUrl: string;
  store: ObjectStore;
  launcher: LocalLauncher;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-security-'));
  const nats: RunningServer = await startNats();
  const logger = createLogger({ service: 'security', silent: true });
  const storeUrl = `file://${dir}/store`;
  const tenants = JSON.stringify(TENANTS);
  const evaluator = await startEvaluatorService(
    loadConfig({
      FERSWEEP_PORT: '0',
      FERSWEEP_HOST: '127.0.0.1',
      FERSWEEP_STORE: storeUrl,
      NATS_URL: nats.url,
      FERSWEEP_API_TOKENS: TOKENS.legacy,
      FERSWEEP_TENANTS: tenants,
    }),
    { logger },
  );
  const evaluatorUrl = `http://127.0.0.1:${evaluator.port}`;
  // A trainer that starts and sleeps: what the suite checks is whether one was started at all.
  const launcher = new LocalLauncher({
    command: [process.execPath, '-e', 'setInterval(() => {}, 1000)', '--'],
    maxConcurrent: 2,
    logger,
    killGraceMs: 200,
  });
  const coordinator = await startCoordinator({
    env: {
      PATH: process.env.PATH ?? '',
      NATS_URL: nats.url,
      FERSWEEP_STORE: storeUrl,
      FERSWEEP_API_TOKENS: TOKENS.legacy,
      FERSWEEP_TENANTS: tenants,
      FERSWEEP_EVALUATOR_URL: evaluatorUrl,
      FERSWEEP_REPORT_WAIT_SECONDS: '0',
      FERSWEEP_MAX_TRIALS: '100',
    },
    port: 0,
    host: '127.0.0.1',
    logger,
    launcher,
  });
  return {
    coordinator,
    evaluator,
    api: coordinator.url,
    evaluatorUrl,
    store: openStore(storeUrl),
    launcher,
    async stop() {
      await coordinator.stop();
      await evaluator.shutdown();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What a refused request must leave as it was: state keys, stored objects, started runs. */
export async function footprint(w: World): Promise<{ keys: number; objects: number; runs: number }> {
  // A Set: a NATS KV key listing can name a key twice while it is being updated.
  const keys = new Set<string>();
  for await (const k of w.coordinator.scheduler.state.kv.keys('')) keys.add(k);
  let objects = 0;
  for await (const _ of w.store.list('sweeps/')) objects++;
  return { keys: keys.size, objects, runs: (await w.launcher.list()).length };
}

export interface Probe {
  /** Which server: the coordinator API or the evaluator. */
  target?: 'coordinator' | 'evaluator';
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Sent as the bearer token unless `headers.authorization` is given; null: no Authorization header. */
  token?: string | null;
  status: number;
  code: string;
  field?: string;
}

/** Sends one hostile request and checks the answer, the servers' health and that nothing changed. */
export async function probe(w: World, p: Probe): Promise<void> {
  const base = p.target === 'evaluator' ? w.evaluatorUrl : w.api;
  const before = await footprint(w);
  const headers: Record<string, string> = { ...(p.headers ?? {}) };
  const token = p.token === undefined ? TOKENS.acme : p.token;
  if (token !== null && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${p.path}`, {
    method: p.method ?? 'GET',
    headers,
    ...(p.body !== undefined ? { body: p.body } : {}),
  });
  const text = await res.text();
  let body: { code?: string; field?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // asserted below: every refusal is problem+json
  }
  expect({ status: res.status, code: body.code, ...(p.field !== undefined ? { field: body.field } : {}) }).toEqual({
    status: p.status,
    code: p.code,
    ...(p.field !== undefined ? { field: p.field } : {}),
  });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  for (const url of [w.api, w.evaluatorUrl]) expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect(await footprint(w)).toEqual(before);
}
