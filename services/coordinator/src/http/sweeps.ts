/** The sweep routes under /v1 (auth is mounted before them): submit, list, read, cancel, trial logs. */
import express, { type Express, type Request, type Response } from 'express';
import { YAMLParseError } from 'yaml';
import { z } from 'zod';
import { assertDepth, BodyError, parseYamlBody } from '../body.js';
import { assertNoReservedKeys } from '../body-keys.js';
import { identity, ListQuery, principalOf } from '../tenancy/http.js';
import type { coordinatorMetrics } from '../metrics.js';
import type { createReportReader } from '../reports.js';
import type { Scheduler } from '../scheduler.js';
import { ApiError, ID, sweepIdOf } from './problem.js';
import { sweepView } from './views.js';

const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');
/** `DELETE /v1/sweeps/{id}` query: cancel (default), or purge, with or without the artifacts. */
const PurgeQuery = z.object({ purge: Flag.default(false), artifacts: Flag.default(false) }).strict();

export interface SweepRoutesDeps {
  scheduler: Scheduler;
  metrics: ReturnType<typeof coordinatorMetrics>;
  reports: ReturnType<typeof createReportReader>;
  /** Largest accepted request body. */
  bodyLimit: string;
  /** Largest accepted YAML body: smaller, as YAML parses about 100× slower than JSON on the event loop. */
  yamlBodyLimit: string;
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/** POST /v1/sweeps (JSON or YAML, Idempotency-Key), GET /v1/sweeps, GET/DELETE /v1/sweeps/:id, trial logs. */
export function mountSweepRoutes(app: Express, deps: SweepRoutesDeps): void {
  const { scheduler, metrics, reports } = deps;
  const limit = deps.bodyLimit;
  const yamlText = express.text({ limit: deps.yamlBodyLimit, type: YAML_TYPES });
  app.post(
    '/v1/sweeps',
    express.json({ limit, type: ['application/json', 'application/*+json'] }),
    (req: Request, res: Response, next: (err?: unknown) => void) =>
      yamlText(req, res, (err?: unknown) => {
        if ((err as { type?: string } | undefined)?.type === 'entity.too.large')
          return next(
            new BodyError(
              413,
              'PayloadTooLarge',
              `the YAML body is larger than ${deps.yamlBodyLimit}: send the sweep as JSON (up to ${limit}) or make it smaller`,
            ),
          );
        next(err);
      }),
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
      assertNoReservedKeys(body);
      const key = req.header('Idempotency-Key') ?? undefined;
      const started = performance.now();
      const who = principalOf(res);
      const r = await scheduler.submit(body, { ...(key ? { idempotencyKey: key } : {}), tenant: who.tenant });
      metrics.submissions.inc({ result: r.created ? 'created' : 'existing' });
      if (r.created) metrics.schedulingLatency.observe((performance.now() - started) / 1000);
      const view = sweepView(r.sweep, r.trials, who);
      res
        .status(r.created ? 201 : 200)
        .location(`/v1/sweeps/${view.id}`)
        .json(view);
    },
  );

  app.get('/v1/sweeps', async (req, res) => {
    const q = ListQuery.safeParse(req.query);
    if (!q.success)
      throw new ApiError(
        400,
        'InvalidQuery',
        `${q.error.issues[0]!.path.join('.')}: ${q.error.issues[0]!.message}`,
        q.error.issues[0]!.path.join('.'),
      );
    const who = principalOf(res);
    // One page of the in-memory index (tenancy/sweep-index.ts): no store read, whatever the store holds.
    const index = await scheduler.state.index();
    const page = index.page(who.admin ? undefined : who.tenant, q.data.limit, q.data.after);
    res.json({
      items: page.items.map((s) => ({ ...s, ...identity(who, s.id) })),
      ...(page.next ? { continue: page.next } : {}),
    });
  });

  app.get('/v1/sweeps/:id', async (req, res) => {
    const s = await scheduler.state.getSweep(sweepIdOf(req, res));
    if (!s) throw new ApiError(404, 'NotFound', `no sweep '${String(req.params.id).slice(0, 80)}'`);
    const trials = await scheduler.state.trials(s);
    const view = sweepView(s, trials, principalOf(res));
    const report = { url: `/v1/sweeps/${view.id}/report`, ready: await reports.ready(s, trials) };
    res.json({ ...view, report });
  });

  app.delete('/v1/sweeps/:id', async (req, res) => {
    const q = PurgeQuery.safeParse(req.query);
    if (!q.success) {
      const field = q.error.issues[0]!.path.join('.');
      throw new ApiError(400, 'InvalidQuery', `${field}: use true or false`, field);
    }
    const id = sweepIdOf(req, res);
    if (!(await scheduler.state.getSweep(id)))
      throw new ApiError(404, 'NotFound', `no sweep '${String(req.params.id).slice(0, 80)}'`);
    if (q.data.purge) {
      await scheduler.purge(id, { artifacts: q.data.artifacts });
      await reports.forget(id);
      res.json({ sweep: identity(principalOf(res), id).id, purged: true, artifacts: q.data.artifacts });
      return;
    }
    const s = await scheduler.cancel(id);
    res.json(sweepView(s, await scheduler.state.trials(s), principalOf(res)));
  });

  app.get('/v1/sweeps/:id/trials/:trial/logs', async (req, res) => {
    const id = sweepIdOf(req, res);
    const trial = String(req.params.trial);
    if (!ID.test(trial) || !(await scheduler.state.getTrial(id, trial)))
      throw new ApiError(404, 'NotFound', `no trial '${trial.slice(0, 80)}' in sweep '${String(req.params.id)}'`);
    res.type('text/plain').send(await scheduler.logs(id, trial));
  });
}
