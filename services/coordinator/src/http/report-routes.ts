/** A sweep's report: JSON under /v1 and the HTML page for browsers. */
import type { Express, NextFunction, Request, Response } from 'express';
import type { createReportReader } from '../reports.js';
import type { Scheduler } from '../scheduler.js';
import { ApiError, sweepIdOf } from './problem.js';

export interface ReportRoutesDeps {
  scheduler: Scheduler;
  reports: ReturnType<typeof createReportReader>;
  /** The bearer-token check (the HTML page is outside /v1). */
  requireToken: (req: Request, res: Response, next: NextFunction) => void;
}

/** GET /v1/sweeps/:id/report (JSON) and GET /sweeps/:id (the HTML report). */
export function mountReportRoutes(app: Express, deps: ReportRoutesDeps): void {
  const { scheduler, reports, requireToken } = deps;
  const reportOr404 = async (req: Request, res: Response) => {
    const id = sweepIdOf(req, res);
    const sweep = await scheduler.state.getSweep(id);
    const r = sweep ? await reports.forSweep(sweep, () => scheduler.state.trials(sweep)) : await reports.current(id);
    if (!r) throw new ApiError(404, 'NotFound', `no report for sweep '${String(req.params.id).slice(0, 80)}' yet`);
    return r;
  };
  app.get('/v1/sweeps/:id/report', async (req, res) => void res.json(await reportOr404(req, res)));
  app.get('/sweeps/:id', requireToken, async (req, res) => {
    // Loaded on first use: ECharts and sharp stay out of the coordinator until someone opens a report page.
    const { renderReportHtml, echartsBundle } = await import('@fersweep/report');
    res.type('html').send(renderReportHtml(await reportOr404(req, res), { inline: echartsBundle() }));
  });
}
