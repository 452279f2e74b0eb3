/**
 * Real servers for tests, each started on a free loopback port with its own temporary data dir
 * (the nats.js test_helpers pattern: start in beforeAll, stop in afterAll). `scripts/test.sh`
 * installs the binaries where missing; these helpers only start and stop them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface RunningServer {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
  /**
   * SIGSTOP: the server keeps its connections but answers nothing (a partition, as a client sees
   * it) until `resume()`. `stop()` resumes it first.
   */
  pause(): void;
  resume(): void;
}

/** pause/resume of a server process (SIGSTOP/SIGCONT). */
function pausing(child: ChildProcess): Pick<RunningServer, 'pause' | 'resume'> {
  return {
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms`);
}

function stopper(child: ChildProcess, dataDir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGCONT'); // a paused server cannot act on SIGTERM
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
}

/** SIGKILL (kill -9), keeping the data dir; resolves once the process has exited. */
function killer(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
}

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

async function startProcess(
  name: string,
  cmd: string,
  args: (port: number, dataDir: string) => string[],
  env: NodeJS.ProcessEnv = process.env,
  /** Writes what the process needs in its data dir (config files) before it starts. */
  prepare?: (port: number, dataDir: string) => void,
  fixed: { port?: number; dataDir?: string } = {},
): Promise<{ child: ChildProcess; port: number; dataDir: string }> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixed.port ?? (await freePort());
    const dataDir = fixed.dataDir ?? mkdtempSync(join(tmpdir(), `fersweep-${name}-`));
    prepare?.(port, dataDir);
    let stderr = '';
    const child = spawn(cmd, args(port, dataDir), { stdio: ['ignore', 'ignore', 'pipe'], env });
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    try {
      await waitForPort(port, child, name);
      return { child, port, dataDir };
    } catch (err) {
      child.kill('SIGKILL');
      if (!fixed.dataDir) rmSync(dataDir, { recursive: true, force: true });
      lastErr = new Error(`${(err as Error).message}\n${stderr}`);
    }
  }
  throw lastErr;
}

/** Options of {@link startNats}. */
export interface StartNatsOptions {
  /** nats-server configuration text (e.g. an `authorization { users [...] }` block), loaded with `-c`. */
  config?: string;
  /** Reuse this port and store dir (a restart after a kill: JetStream keeps its data). */
  port?: number;
  dataDir?: string;
}

/** A nats-server that can also be killed hard (SIGKILL) and started again on its port and store. */
export interface RunningNats extends RunningServer {
  /** SIGKILL, keeping the store dir; `startNats({ port, dataDir, config })` brings it back. */
  kill(): Promise<void>;
}

/** nats-server with JetStream, its store in a fresh temp dir (or `options.dataDir`). */
export async function startNats(options: StartNatsOptions = {}): Promise<RunningNats> {
  const bin = which('nats-server');
  if (!bin)
    throw new Error('nats-server is not installed: run the tests with `npm test` (scripts/test.sh installs it)');
  const { child, port, dataDir } = await startProcess(
    'nats',
    bin,
    (p, d) => [
      '-a',
      '127.0.0.1',
      '-p',
      String(p),
      '-js',
      '-sd',
      d,
      ...(options.config ? ['-c', join(d, 'nats.conf')] : []),
    ],
    process.env,
    (_p, d) => {
      if (options.config) writeFileSync(join(d, 'nats.conf'), options.config);
    },
    { ...(options.port ? { port: options.port } : {}), ...(options.dataDir ? { dataDir: options.dataDir } : {}) },
  );
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dataDir,
    stop: stopper(child, dataDir),
    ...pausing(child),
    kill: killer(child),
  };
}

export interface RunningS3 extends RunningServer {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Env vars a fersweep process needs to reach this server. */
  env: Record<string, string>;
  /** Creates a bucket (path-style, with this server's credentials). */
  createBucket(name: string): Promise<void>;
  /**
   * SIGKILL, keeping the data dir; `startS3({ kind: 's3rver', port, dataDir })` brings it back with
   * its objects (moto keeps everything in memory: a killed moto comes back empty).
   */
  kill(): Promise<void>;
}

export interface StartS3Options {
  /**
   * Which server: moto_server (the default where installed) or s3rver from npm. Default: s3rver
   * when FERSWEEP_TEST_S3=s3rver, else moto when installed.
   */
  kind?: 'moto' | 's3rver';
  /**
   * Extra environment for the server process, e.g. `{ INITIAL_NO_AUTH_ACTION_COUNT: '0' }` to
   * make moto check credentials (it accepts anything by default).
   */
  serverEnv?: Record<string, string>;
  /** Reuse this port and data dir (a restart of s3rver after a kill: its objects are on disk there). */
  port?: number;
  dataDir?: string;
}

/**
 * A real S3-compatible server process: moto_server where installed (this machine image has it),
 * else s3rver from npm. Both speak the S3 REST protocol with path-style addressing.
 */
export async function startS3(options: StartS3Options = {}): Promise<RunningS3> {
  const kind = options.kind ?? (process.env.FERSWEEP_TEST_S3 === 's3rver' ? 's3rver' : 'moto');
  const moto = kind === 'moto' ? which('moto_server') : undefined;
  if (options.kind === 'moto' && !moto) throw new Error('moto_server is not installed: run the tests with `npm test`');
  const serverEnv = { ...process.env, ...options.serverEnv };
  // moto accepts any credentials (unless serverEnv turns its auth on); s3rver accepts only the
  // key id S3RVER (it does not verify SigV4 signatures, so any secret passes).
  const creds = moto
    ? { accessKeyId: 'fersweep-test', secretAccessKey: 'fersweep-test-secret', region: 'us-east-1' }
    : { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' };
  const fixed = {
    ...(options.port ? { port: options.port } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  };
  let started: { child: ChildProcess; port: number; dataDir: string };
  if (moto) {
    started = await startProcess(
      'moto',
      moto,
      (p) => ['-H', '127.0.0.1', '-p', String(p)],
      serverEnv,
      undefined,
      fixed,
    );
  } else {
    const require = createRequire(import.meta.url);
    const s3rverBin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
    started = await startProcess(
      's3rver',
      s3rverBin,
      (p, d) => ['--address', '127.0.0.1', '--port', String(p), '--directory', d, '--silent'],
      serverEnv,
      undefined,
      fixed,
    );
  }
  const url = `http://127.0.0.1:${started.port}`;
  return {
    url,
    port: started.port,
    dataDir: started.dataDir,
    ...creds,
    env: {
      AWS_ENDPOINT_URL_S3: url,
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_REGION: creds.region,
      FERSWEEP_S3_FORCE_PATH_STYLE: 'true',
    },
    async createBucket(name: string) {
      const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
      const client = new S3Client({ endpoint: url, region: creds.region, forcePathStyle: true, credentials: creds });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    stop: stopper(started.child, started.dataDir),
    ...pausing(started.child),
    kill: killer(started.child),
  };
}

/** One series of an instant-vector PromQL result. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus extends RunningServer {
  /** Evaluates an instant query through the HTTP API (`/api/v1/query`); throws on a query error. */
  query(promql: string): Promise<PromSample[]>;
  /**
   * Polls `query(promql)` until `until` accepts its result (default: any series), then returns it;
   * throws after `timeoutMs` (default 20 s) with the last result.
   */
  waitFor(promql: string, until?: (samples: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
}

export interface StartPrometheusOptions {
  /** `host:port` targets scraped at `/metrics`, e.g. `127.0.0.1:8081`. */
  scrapeTargets: string[];
  /** Scrape (and rule evaluation) interval. Default 500 ms, so tests see data within a second. */
  scrapeIntervalMs?: number;
  /** Extra rule files (absolute paths), e.g. alerting rules under test. */
  ruleFiles?: string[];
  /** Labels added to every scraped series, e.g. `{ namespace: 'sweeps' }` as a ServiceMonitor's target would have. */
  targetLabels?: Record<string, string>;
}

/**
 * A real Prometheus (Debian `prometheus`) scraping `scrapeTargets`: its own prometheus.yml and TSDB
 * in a fresh temp dir, the web API on a free loopback port, ready (`/-/ready`) when this resolves.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const bin = which('prometheus');
  if (!bin) throw new Error('prometheus is not installed: run the tests with `npm test` (scripts/test.sh installs it)');
  const interval = `${options.scrapeIntervalMs ?? 500}ms`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(options.ruleFiles?.length ? ['rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    '  - job_name: fersweep',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.scrapeTargets)}`,
    ...(options.targetLabels ? [`        labels: ${JSON.stringify(options.targetLabels)}`] : []),
    '',
  ].join('\n');
  const { child, port, dataDir } = await startProcess(
    'prometheus',
    bin,
    (p, d) => [
      `--config.file=${join(d, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(d, 'data')}`,
      `--web.listen-address=127.0.0.1:${p}`,
      '--log.level=warn',
    ],
    process.env,
    (_p, d) => writeFileSync(join(d, 'prometheus.yml'), config),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = stopper(child, dataDir);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus on ${port} was not ready within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || !body.data)
      throw new Error(`PromQL ${promql} failed: ${body.error ?? res.statusText}`);
    if (body.data.resultType !== 'vector')
      throw new Error(`PromQL ${promql} gave a ${body.data.resultType}, not an instant vector`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    url,
    port,
    dataDir,
    stop,
    ...pausing(child),
    query,
    async waitFor(promql, until = (s) => s.length > 0, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      let last: PromSample[] = [];
      for (;;) {
        last = await query(promql);
        if (until(last)) return last;
        if (Date.now() > end)
          throw new Error(
            `PromQL ${promql} did not give the expected result within ${timeoutMs} ms: ${JSON.stringify(last)}`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}
