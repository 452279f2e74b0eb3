import { UsageError } from './errors.js';

export interface ApiOptions {
  /** Coordinator base URL (--api / FERSWEEP_API). */
  url: string;
  /** Bearer token (FERSWEEP_TOKEN). */
  token?: string;
}

export interface TrialView {
  trial: string;
  variant: string;
  model: string;
  phase: string;
  attempts: number;
  failures: number;
  preemptions: number;
  lastEpoch?: { epoch: number; loss: number; accuracy: number; valLoss: number; valAccuracy: number; seconds?: number };
  modelUri?: string;
  /** Set once the trial completed: the epoch its model comes from and whether early stopping ended it. */
  bestEpoch?: number;
  stoppedEarly?: boolean;
  /** Set when the sweep's scheduler (ASHA, median rule) stopped it: where, and against what. */
  stopped?: { epoch: number; rung?: number; threshold?: number; reason: string };
  /** A search trial: its configuration within its variant and the point it tries (TPE: once suggested). */
  search?: { configuration: number; point?: Record<string, string | number | boolean>; suggestedAt?: string };
  /** Seed replicates: which replicate of its configuration, and its seed. */
  replicate?: number;
  seed?: number;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface SweepView {
  id: string;
  phase: string;
  createdAt: string;
  finishedAt?: string;
  trialCount: number;
  trials?: TrialView[];
  spec?: { spec: { epochs: number; dataset: string } };
}

/** An API failure the user can act on: one line, exit 1. */
export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A thin client of the coordinator's REST API (see GET /openapi.json). */
export function apiClient(o: ApiOptions) {
  const base = o.url.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) throw new UsageError(`--api must be an http(s) URL, got '${o.url}'`);
  async function call(
    method: string,
    path: string,
    init: { body?: string; contentType?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(init.contentType ? { 'content-type': init.contentType } : {}),
          ...init.headers,
        },
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiCallError(
        'Unreachable',
        `cannot reach the coordinator at ${base} (${cause}): start one with 'fersweep serve coordinator' or set --api / FERSWEEP_API`,
      );
    }
    if (res.ok) return res;
    let detail = `${res.status} ${res.statusText}`;
    let code = `Http${res.status}`;
    try {
      const p = (await res.json()) as { code?: string; detail?: string };
      if (p.detail) detail = p.detail;
      if (p.code) code = p.code;
    } catch {
      // not problem+json: keep the status line
    }
    if (res.status === 401)
      throw new ApiCallError('Unauthorized', `the coordinator at ${base} refused the request: ${detail}`, 401);
    throw new ApiCallError(code, detail, res.status);
  }
  return {
    base,
    async submit(
      body: string,
      contentType: string,
      idempotencyKey?: string,
    ): Promise<{ created: boolean; sweep: SweepView }> {
      const res = await call('POST', '/v1/sweeps', {
        body,
        contentType,
        ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
      });
      return { created: res.status === 201, sweep: (await res.json()) as SweepView };
    },
    async get(id: string): Promise<SweepView> {
      return (await (await call('GET', `/v1/sweeps/${encodeURIComponent(id)}`)).json()) as SweepView;
    },
    async list(): Promise<SweepView[]> {
      const out: SweepView[] = [];
      let token: string | undefined;
      do {
        const page = (await (await call('GET', `/v1/sweeps?limit=200${token ? `&continue=${token}` : ''}`)).json()) as {
          items: SweepView[];
          continue?: string;
        };
        out.push(...page.items);
        token = page.continue;
      } while (token);
      return out;
    },
    async cancel(id: string): Promise<SweepView> {
      return (await (await call('DELETE', `/v1/sweeps/${encodeURIComponent(id)}`)).json()) as SweepView;
    },
    async logs(id: string, trial: string): Promise<string> {
      return (
        await call('GET', `/v1/sweeps/${encodeURIComponent(id)}/trials/${encodeURIComponent(trial)}/logs`)
      ).text();
    },
    async report(id: string): Promise<unknown> {
      return (await call('GET', `/v1/sweeps/${encodeURIComponent(id)}/report`)).json();
    },
    async reportHtml(id: string): Promise<string> {
      return (await call('GET', `/sweeps/${encodeURIComponent(id)}`)).text();
    },
  };
}
export type ApiClient = ReturnType<typeof apiClient>;
