import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { ObjectStore } from '@fersweep/storage';
import type { Registry } from 'prom-client';
import { BEARER_CHALLENGE, type Access, type Logger } from '@fersweep/observability';
import { coordinatorMetrics } from './metrics.js';
import { createReportReader } from './reports.js';
import type { Scheduler } from './scheduler.js';
import { openApiDocument } from './http/openapi.js';
import { errorHandler, notFound, problem } from './http/problem.js';
import { mountReportRoutes } from './http/report-routes.js';
import { mountSweepRoutes } from './http/sweeps.js';
import { accessOf } from './tenancy/http.js';

export { ApiError } from './http/problem.js';
export { openApiDocument } from './http/openapi.js';
export { sweepView, trialView } from './http/views.js';

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
  /** Accepted bearer tokens (the default tenant's admins); empty and no `access` = auth off (the caller has warned). */
  tokens: readonly string[];
  /** Tokens → tenants (tenancy/config.ts); wins over `tokens`. */
  access?: Access;
  /** False while starting or shutting down: /readyz answers 503. */
  ready: () => boolean;
  /** Largest accepted request body (default 1mb). */
  bodyLimit?: string;
  /** Largest accepted YAML body (default 256kb, or bodyLimit if smaller): YAML parses ~100× slower than JSON. */
  yamlBodyLimit?: string;
  /** How long GET /v1/sweeps/{id}/report waits for an ended sweep's final report (default 20 s). */
  reportWaitMs?: number;
}

/**
 * The coordinator's HTTP API, in the order a request meets it: metrics and probes → bearer auth
 * on /v1 → the sweep routes → the report routes → 404 → the problem+json error handler.
 * Listening (and `start()`) is the caller's.
 */
/** The default limit of YAML bodies: a flat 1 MB mapping took ~8 s to parse, blocking every request. */
export const YAML_BODY_LIMIT = '256kb';

const UNIT: Record<string, number> = { b: 1, kb: 1 << 10, mb: 1 << 20, gb: 1 << 30 };
/** Bytes of a body-parser size ('1mb', '256kb', '512b'); Infinity for anything else. */
const sizeOf = (limit: string): number => {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i.exec(limit.trim());
  return m ? Number(m[1]) * UNIT[m[2]!.toLowerCase()]! : Infinity;
};
/** The smaller of two body limits. */
const smallerLimit = (a: string, b: string): string => (sizeOf(a) <= sizeOf(b) ? a : b);

export function createApp(deps: AppDeps): express.Express {
  const metrics = coordinatorMetrics(deps.registry, deps.scheduler.state);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  mountProbes(app, deps, metrics);
  const requireToken = bearerAuth(accessOf(deps));
  app.use('/v1', requireToken);
  const reports = reportReader(deps);
  const bodyLimit = deps.bodyLimit ?? '1mb';
  mountSweepRoutes(app, {
    scheduler: deps.scheduler,
    metrics,
    reports,
    bodyLimit,
    yamlBodyLimit: deps.yamlBodyLimit ?? smallerLimit(bodyLimit, YAML_BODY_LIMIT),
  });
  mountReportRoutes(app, { scheduler: deps.scheduler, reports, requireToken });
  app.use(notFound);
  app.use(errorHandler(deps.logger, bodyLimit));
  return app;
}

/** The request-duration histogram, /healthz, /readyz, /metrics and /openapi.json (no auth: probes and scrapers). */
function mountProbes(app: Express, deps: AppDeps, metrics: ReturnType<typeof coordinatorMetrics>): void {
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
}

/**
 * 401 with a Bearer challenge unless the request carries a known token (none configured: auth off);
 * the caller's principal (tenant, admin) goes to `res.locals.principal` for the routes.
 */
function bearerAuth(access: Access) {
  const requireToken = (req: Request, res: Response, next: NextFunction) => {
    if (!access.enabled) return next();
    const who = access.principal(req.headers.authorization);
    res.locals.principal = who;
    if (who) return next();
    res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
    problem(
      res,
      401,
      'Unauthorized',
      'missing or invalid bearer token: set Authorization: Bearer <token> (FERSWEEP_TOKEN for the CLI)',
    );
  };
  return requireToken;
}

function reportReader(deps: AppDeps): ReturnType<typeof createReportReader> {
  /**
   * One endpoint for users: the report of a running sweep comes from the evaluator (live), or from
   * the stored report (sweeps/<id>/report/), which outlives the evaluator. Once the sweep has ended
   * it is always the final report (see reports.ts): a client that saw the phase turn terminal never
   * gets a stale or missing report.
   */
  return createReportReader({
    logger: deps.logger,
    ...(deps.store ? { store: deps.store } : {}),
    ...(deps.evaluatorUrl ? { evaluatorUrl: deps.evaluatorUrl } : {}),
    ...(deps.evaluatorToken ? { evaluatorToken: deps.evaluatorToken } : {}),
    ...(deps.reportWaitMs !== undefined ? { waitMs: deps.reportWaitMs } : {}),
  });
}
