/**
 * The evaluator's HTTP face (express 5): the report as JSON and as a page, Prometheus metrics,
 * health and readiness. Errors are problem+json (RFC 9457) with a stable `code`.
 */
import { canSee, DEFAULT_TENANT, RankMetric, resolveSweepId, type Principal } from '@fersweep/contracts';
import { BEARER_CHALLENGE, createAccess, type Access, type Logger } from '@fersweep/observability';
import { echartsBundlePath } from '@fersweep/report';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { EvaluatorError } from './errors.js';
import type { Evaluator } from './evaluator.js';

/** What the app serves from. */
export interface AppDeps {
  evaluator: Evaluator;
  registry: Registry;
  logger: Logger;
  /**
   * Accepted bearer tokens (FERSWEEP_API_TOKENS, the coordinator's): required on /v1 and the report
   * pages; empty = auth off (the caller listens on loopback only, or has warned).
   */
  tokens?: readonly string[];
  /** Tokens → tenants (the coordinator's tenants document); wins over `tokens`. */
  access?: Access;
  /** Readiness: false while starting and once shutdown has begun. Default: the evaluator is consuming. */
  ready?: () => boolean;
}

/** Where the report page loads ECharts from: served by this app from node_modules, never a CDN. */
export const ECHARTS_ASSET = '/assets/echarts.min.js';

function metricOf(req: Request): RankMetric | undefined {
  const raw = req.query.metric;
  if (raw === undefined) return undefined;
  const parsed = RankMetric.safeParse(raw);
  if (!parsed.success)
    throw new EvaluatorError(
      'InvalidArgument',
      `metric must be one of ${RankMetric.options.join(', ')}; got ${JSON.stringify(raw)}`,
    );
  return parsed.data;
}

const notFound = (sweep: string) =>
  new EvaluatorError(
    'SweepNotFound',
    `no sweep '${sweep}': the evaluator has seen no event of it and the store holds no state or spec for it`,
  );

function problem(res: Response, req: Request, err: EvaluatorError): void {
  res
    .status(err.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `urn:fersweep:problem:${err.code}`,
        title: err.code,
        status: err.status,
        detail: err.message,
        code: err.code,
        instance: req.originalUrl,
      }),
    );
}

/** The express app; listen on it (`app.listen(port)`). */
export function createApp(deps: AppDeps): express.Express {
  const { evaluator, registry, logger } = deps;
  const ready = deps.ready ?? (() => evaluator.consuming);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (req, res) => {
    if (ready()) res.json({ status: 'ready' });
    else
      problem(
        res,
        req,
        new EvaluatorError('NotReady', 'the evaluator is not consuming trial events (starting or stopping)'),
      );
  });
  app.get('/metrics', async (_req, res) => {
    const body = await registry.metrics();
    res.type(registry.contentType).send(body);
  });
  app.get(ECHARTS_ASSET, (_req, res, next) => {
    res.sendFile(
      echartsBundlePath(),
      { maxAge: '1d', headers: { 'content-type': 'text/javascript; charset=utf-8' } },
      (err) => {
        if (err) next(err);
      },
    );
  });

  // Health, readiness, /metrics (labels only: sweep, trial, metric names) and the vendored ECharts
  // bundle stay open; every sweep's data needs a token.
  // A member sees its own tenant's sweeps, addressed by name; an admin (FERSWEEP_API_TOKENS, the
  // coordinator's token) every sweep by id. Another tenant's sweep is the same 404 as a missing one.
  const access = deps.access ?? createAccess({ legacyTokens: deps.tokens ?? [] });
  const anonymous: Principal = { tenant: DEFAULT_TENANT, admin: true };
  const who = (res: Response) => (res.locals.principal as Principal | undefined) ?? anonymous;
  const sweepOf = (req: Request, res: Response) => {
    const raw = String(req.params.id);
    const id = resolveSweepId(who(res), raw);
    if (id === undefined) throw notFound(raw.slice(0, 80));
    return id;
  };
  const requireToken = (req: Request, res: Response, next: NextFunction) => {
    if (!access.enabled) return next();
    res.locals.principal = access.principal(req.headers.authorization);
    if (res.locals.principal) return next();
    res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
    problem(
      res,
      req,
      new EvaluatorError(
        'Unauthorized',
        'missing or invalid bearer token: set Authorization: Bearer <token> (one of FERSWEEP_API_TOKENS)',
      ),
    );
  };
  app.use('/v1', requireToken);
  app.use('/sweeps', requireToken);

  app.get('/v1/sweeps', (_req, res) => {
    res.json({ sweeps: evaluator.sweeps().filter((s) => canSee(who(res), s.sweep)) });
  });
  app.get('/v1/sweeps/:id/report', async (req, res) => {
    const report = await evaluator.report(sweepOf(req, res), { ...optional('metric', metricOf(req)) });
    if (!report) throw notFound(req.params.id);
    res.json(report);
  });
  // The coordinator purged the sweep: drop it from memory (its stored state is already gone).
  app.delete('/v1/sweeps/:id', async (req, res) => {
    const id = sweepOf(req, res);
    res.json({ sweep: id, evicted: await evaluator.forget(id) });
  });
  app.post('/v1/sweeps/:id/finalize', async (req, res) => {
    const report = await evaluator.finalize(sweepOf(req, res));
    if (!report) throw notFound(req.params.id);
    res.json(report);
  });
  app.get('/sweeps/:id', async (req, res) => {
    const html = await evaluator.html(
      sweepOf(req, res),
      { src: ECHARTS_ASSET },
      { ...optional('metric', metricOf(req)) },
    );
    if (html === undefined) throw notFound(req.params.id);
    res.type('text/html; charset=utf-8').send(html);
  });

  app.use((req: Request) => {
    throw new EvaluatorError('NotFound', `no route ${req.method} ${req.path}`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof EvaluatorError) {
      problem(res, req, err);
      return;
    }
    logger.error(`${req.method} ${req.path} failed: ${err instanceof Error ? err.message : String(err)}`, {
      error: err,
    });
    problem(res, req, new EvaluatorError('Internal', 'the evaluator failed to answer; see its log'));
  });
  return app;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
