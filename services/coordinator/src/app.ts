import express, { type NextFunction, type Request, type Response } from 'express';
import { YAMLParseError } from 'yaml';
import { z } from 'zod';
import { SweepReport, SweepSpec, TrialSpec } from '@fersweep/contracts';
import type { ObjectStore } from '@fersweep/storage';
import type { Registry } from 'prom-client';
import { BEARER_CHALLENGE, tokenChecker, type Logger } from '@fersweep/observability';
import { assertDepth, BodyError, bodyParserProblem, parseYamlBody } from './body.js';
import { coordinatorMetrics } from './metrics.js';
import { SweepError } from './errors.js';
import { createReportReader, ReportPendingError } from './reports.js';
import type { Scheduler } from './scheduler.js';
import type { SweepRecord, TrialRecord } from './state.js';

export interface AppDeps {
  scheduler: Scheduler;
  /** The artifact root: stored reports are read from sweeps/<id>/report/ there. */
  store?: ObjectStore;
  /** The evaluator's base URL: live reports are fetched from it while a sweep runs. */
  evaluatorUrl?: string;
  /** Bearer token the coordinator sends to the evaluator. */
  evaluatorToken?: string;
  logger: Logger;
  registry: Registry;
  /** Accepted bearer tokens; empty = auth off (the caller has warned). */
  tokens: readonly string[];
  /** False while starting or shutting down: /readyz answers 503. */
  ready: () => boolean;
  /** Largest accepted request body. */
  bodyLimit?: string;
  /** How long GET /v1/sweeps/{id}/report waits for an ended sweep's final report (default 20 s). */
  reportWaitMs?: number;
}

/** An API error as RFC 9457 problem+json with a stable `code`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function problem(
  res: Response,
  status: number,
  code: string,
  detail: string,
  field?: string,
  errors?: readonly { field: string; message: string }[],
) {
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: `https://fersweep.dev/problems/${code}`,
      title: code,
      status,
      code,
      detail,
      ...(field !== undefined ? { field } : {}),
      ...(errors?.length ? { errors: errors.map((e) => ({ field: e.field, detail: e.message })) } : {}),
    });
}

const ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Public view of a trial (no internal fields). */
export function trialView(t: TrialRecord) {
  return {
    trial: t.trial,
    variant: t.variant,
    model: t.spec.model,
    params: t.spec.params,
    phase: t.phase,
    attempts: t.attempts,
    failures: t.failures,
    preemptions: t.preemptions,
    ...(t.lastEpoch ? { lastEpoch: t.lastEpoch } : {}),
    ...(t.modelUri ? { modelUri: t.modelUri } : {}),
    ...(t.bestEpoch !== undefined ? { bestEpoch: t.bestEpoch } : {}),
    ...(t.stoppedEarly !== undefined ? { stoppedEarly: t.stoppedEarly } : {}),
    ...(t.stopped ? { stopped: t.stopped } : {}),
    ...(t.message ? { message: t.message } : {}),
    ...(t.error ? { error: t.error } : {}),
    ...(t.startedAt ? { startedAt: t.startedAt } : {}),
    ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}),
  };
}

/** Public view of a sweep, with its trials when given: what GET /v1/sweeps/{id} answers. */
export function sweepView(s: SweepRecord, trials?: TrialRecord[]) {
  return {
    id: s.id,
    phase: s.phase,
    createdAt: s.createdAt,
    ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
    trialCount: s.trialIds.length,
    ...(trials ? { trials: trials.map(trialView), spec: s.spec } : {}),
  };
}

/** OpenAPI 3.1 document, its schemas generated from the zod contracts. */
export function openApiDocument() {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  const problemRef = { $ref: '#/components/schemas/Problem' };
  const err = (d: string) => ({ description: d, content: { 'application/problem+json': { schema: problemRef } } });
  return {
    openapi: '3.1.0',
    info: {
      title: 'fersweep coordinator',
      version: '1',
      description: 'Submit and follow sweeps comparing FER model variants.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        SweepSpec: schema(SweepSpec),
        TrialSpec: schema(TrialSpec),
        SweepReport: schema(SweepReport),
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string' },
            detail: { type: 'string' },
            field: { type: 'string', description: 'the first offending field, e.g. spec.variants[1].params.alpha' },
            errors: {
              type: 'array',
              description: 'InvalidSpec: every problem found, each with its field and what is allowed',
              items: {
                type: 'object',
                required: ['field', 'detail'],
                properties: { field: { type: 'string' }, detail: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/sweeps': {
        post: {
          summary: 'Submit a sweep (JSON or YAML); idempotent by metadata.name and Idempotency-Key',
          parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/SweepSpec' } },
              'application/yaml': { schema: { $ref: '#/components/schemas/SweepSpec' } },
            },
          },
          responses: {
            '201': { description: 'created' },
            '200': { description: 'the same sweep already exists' },
            '400': err('malformed body: invalid JSON, a Content-Encoding it does not match, nesting deeper than 64'),
            '401': err('no or wrong token'),
            '409': err('a sweep of that name exists with another spec'),
            '413': err('body too large'),
            '415': err('unsupported content type, Content-Encoding or charset'),
            '422': err(
              'invalid spec (InvalidSpec, with `field` and `errors`: unknown model or param, a value out of range, an ' +
                'invalid combination, a search value outside the bounds of the field it sets) or too many trials ' +
                '(TooManyTrials); nothing is stored or started',
            ),
          },
        },
        get: {
          summary: 'List sweeps (paginated)',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            { name: 'continue', in: 'query', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'a page of sweeps, with `continue` when more remain' } },
        },
      },
      '/v1/sweeps/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary:
            "A sweep's phase, each trial's phase, attempts, last epoch metrics and model URL, and `report: { url, ready }` " +
            '(ready: the sweep ended and its final report is there)',
          responses: { '200': { description: 'the sweep' }, '404': err('no such sweep') },
        },
        delete: {
          summary: 'Cancel: stops and deletes running trials',
          responses: { '200': { description: 'cancelled' }, '404': err('no such sweep') },
        },
      },
      '/v1/sweeps/{id}/report': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary:
            "The sweep's comparison report: live while it runs; once its phase is terminal, always the final report",
          responses: {
            '200': {
              description: 'the report',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepReport' } } },
            },
            '404': err('no such sweep, or no report of it yet (a sweep that has not started)'),
            '503': err(
              'ReportPending: the sweep ended but the evaluator has not yet recorded its last events within the wait ' +
                '(FERSWEEP_REPORT_WAIT_SECONDS); retry after Retry-After',
            ),
          },
        },
      },
      '/v1/sweeps/{id}/trials/{trial}/logs': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'trial', in: 'path', required: true, schema: { type: 'string' } },
        ],
        get: {
          summary: "The trainer's log of the latest attempt",
          responses: { '200': { description: 'text/plain log' }, '404': err('no such trial') },
        },
      },
      '/healthz': { get: { security: [], summary: 'Liveness', responses: { '200': { description: 'alive' } } } },
      '/readyz': {
        get: {
          security: [],
          summary: 'Readiness',
          responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
        },
      },
      '/metrics': {
        get: { security: [], summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition' } } },
      },
    },
  };
}

/** The coordinator's HTTP API; `start()` is the caller's. */
export function createApp(deps: AppDeps): express.Express {
  const { scheduler, logger } = deps;
  const metrics = coordinatorMetrics(deps.registry, scheduler.state);
  const authorized = tokenChecker(deps.tokens);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () =>
      end({ route: (req.route as { path?: string } | undefined)?.path ?? 'unmatched', status: String(res.statusCode) }),
    );
    next();
  });

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get(
    '/readyz',
    (_req, res) =>
      void (deps.ready() ? res.json({ status: 'ready' }) : problem(res, 503, 'NotReady', 'starting or shutting down')),
  );
  app.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => void res.json(openApiDocument()));

  const requireToken = (req: Request, res: Response, next: NextFunction) => {
    if (deps.tokens.length === 0 || authorized(req.headers.authorization)) return next();
    res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
    problem(
      res,
      401,
      'Unauthorized',
      'missing or invalid bearer token: set Authorization: Bearer <token> (FERSWEEP_TOKEN for the CLI)',
    );
  };
  app.use('/v1', requireToken);

  const limit = deps.bodyLimit ?? '1mb';
  app.post(
    '/v1/sweeps',
    express.json({ limit, type: ['application/json', 'application/*+json'] }),
    express.text({ limit, type: ['application/yaml', 'application/x-yaml', 'text/yaml'] }),
    async (req: Request, res: Response) => {
      let body: unknown = req.body;
      if (typeof body === 'string') {
        try {
          body = parseYamlBody(body);
        } catch (err) {
          if (err instanceof BodyError) throw err;
          const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
          throw new ApiError(
            422,
            'InvalidYaml',
            `the body is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`,
          );
        }
      } else if (
        body === undefined ||
        !req.is(['application/json', 'application/*+json', 'application/yaml', 'application/x-yaml', 'text/yaml'])
      ) {
        throw new ApiError(415, 'UnsupportedMediaType', 'send the sweep as application/json or application/yaml');
      }
      assertDepth(body);
      const key = req.header('Idempotency-Key') ?? undefined;
      const started = performance.now();
      const r = await scheduler.submit(body, key);
      metrics.submissions.inc({ result: r.created ? 'created' : 'existing' });
      if (r.created) metrics.schedulingLatency.observe((performance.now() - started) / 1000);
      res
        .status(r.created ? 201 : 200)
        .location(`/v1/sweeps/${r.sweep.id}`)
        .json(sweepView(r.sweep, r.trials));
    },
  );

  app.get('/v1/sweeps', async (req, res) => {
    const q = z
      .object({
        limit: z.coerce.number().int().min(1).max(500).default(50),
        continue: z.string().regex(/^\d+$/).optional(),
      })
      .safeParse(req.query);
    if (!q.success)
      throw new ApiError(
        400,
        'InvalidQuery',
        `${q.error.issues[0]!.path.join('.')}: ${q.error.issues[0]!.message}`,
        q.error.issues[0]!.path.join('.'),
      );
    const all = await scheduler.state.listSweeps();
    const from = Number(q.data.continue ?? 0);
    const page = all.slice(from, from + q.data.limit);
    const next = from + page.length < all.length ? String(from + page.length) : undefined;
    res.json({ items: page.map((s) => sweepView(s)), ...(next ? { continue: next } : {}) });
  });

  const sweepId = (req: Request) => {
    const id = String(req.params.id);
    if (!ID.test(id)) throw new ApiError(404, 'NotFound', `no sweep '${id.slice(0, 80)}'`);
    return id;
  };

  /**
   * One endpoint for users: the report of a running sweep comes from the evaluator (live), or from
   * the stored report (sweeps/<id>/report/), which outlives the evaluator. Once the sweep has ended
   * it is always the final report (see reports.ts): a client that saw the phase turn terminal never
   * gets a stale or missing report.
   */
  const reports = createReportReader({
    logger,
    ...(deps.store ? { store: deps.store } : {}),
    ...(deps.evaluatorUrl ? { evaluatorUrl: deps.evaluatorUrl } : {}),
    ...(deps.evaluatorToken ? { evaluatorToken: deps.evaluatorToken } : {}),
    ...(deps.reportWaitMs !== undefined ? { waitMs: deps.reportWaitMs } : {}),
  });
  app.get('/v1/sweeps/:id', async (req, res) => {
    const s = await scheduler.state.getSweep(sweepId(req));
    if (!s) throw new ApiError(404, 'NotFound', `no sweep '${req.params.id}'`);
    const trials = await scheduler.state.trials(s);
    const report = { url: `/v1/sweeps/${s.id}/report`, ready: await reports.ready(s, trials) };
    res.json({ ...sweepView(s, trials), report });
  });

  app.delete('/v1/sweeps/:id', async (req, res) => {
    const s = await scheduler.cancel(sweepId(req));
    res.json(sweepView(s, await scheduler.state.trials(s)));
  });

  app.get('/v1/sweeps/:id/trials/:trial/logs', async (req, res) => {
    const id = sweepId(req);
    const trial = String(req.params.trial);
    if (!ID.test(trial) || !(await scheduler.state.getTrial(id, trial)))
      throw new ApiError(404, 'NotFound', `no trial '${trial.slice(0, 80)}' in sweep '${id}'`);
    res.type('text/plain').send(await scheduler.logs(id, trial));
  });

  const reportOr404 = async (req: Request) => {
    const id = sweepId(req);
    const sweep = await scheduler.state.getSweep(id);
    const r = sweep ? await reports.forSweep(sweep, () => scheduler.state.trials(sweep)) : await reports.current(id);
    if (!r) throw new ApiError(404, 'NotFound', `no report for sweep '${id}' yet`);
    return r;
  };
  app.get('/v1/sweeps/:id/report', async (req, res) => void res.json(await reportOr404(req)));
  app.get('/sweeps/:id', requireToken, async (req, res) => {
    // Loaded on first use: ECharts and sharp stay out of the coordinator until someone opens a report page.
    const { renderReportHtml, echartsBundle } = await import('@fersweep/report');
    res.type('html').send(renderReportHtml(await reportOr404(req), { inline: echartsBundle() }));
  });

  app.use((_req, res) => problem(res, 404, 'NotFound', 'no such endpoint: see /openapi.json'));

  // express 5 forwards rejected promises here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ApiError) return problem(res, err.status, err.code, err.message, err.field);
    if (err instanceof ReportPendingError) {
      res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return problem(res, 503, err.code, err.message);
    }
    if (err instanceof SweepError) {
      const status = { InvalidSpec: 422, TooManyTrials: 422, Conflict: 409, NotFound: 404 }[err.code];
      return problem(res, status, err.code, err.message, err.field, err.issues);
    }
    if (err instanceof BodyError) return problem(res, err.status, err.code, err.message);
    const parser = bodyParserProblem(err);
    if (parser) return problem(res, parser.status, parser.code, parser.detail);
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') return problem(res, 413, 'PayloadTooLarge', `the body is larger than ${limit}`);
    if (e.type === 'entity.parse.failed')
      return problem(res, 400, 'InvalidJson', `the body is not valid JSON: ${e.message ?? ''}`);
    logger.error('request failed', { error: err instanceof Error ? err.stack : String(err) });
    problem(res, 500, 'Internal', 'internal error: see the coordinator log');
  });
  return app;
}
