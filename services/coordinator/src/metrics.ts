import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SweepState } from './state.js';
import { SweepPhase, TrialPhase } from './state.js';

export interface CoordinatorMetrics {
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  submissions: Counter<'result'>;
  schedulingLatency: Histogram;
}

/** The coordinator's metrics on an injected registry; phase gauges read the state's counters at scrape time. */
export function coordinatorMetrics(registry: Registry, state: SweepState): CoordinatorMetrics {
  new Gauge({
    name: 'fersweep_sweeps',
    help: 'Sweeps by phase',
    labelNames: ['phase'],
    registers: [registry],
    async collect() {
      // Counters the state keeps with every write (tenancy/sweep-index.ts): O(phases), no store read.
      const counts = (await state.index()).sweepPhases;
      for (const phase of SweepPhase.options) this.set({ phase }, counts.get(phase) ?? 0);
    },
  });
  new Gauge({
    name: 'fersweep_coordinator_trials',
    help: 'Trials of every sweep by phase, as the coordinator records them',
    labelNames: ['phase'],
    registers: [registry],
    async collect() {
      const counts = (await state.index()).trialPhases;
      for (const phase of TrialPhase.options) this.set({ phase }, counts.get(phase) ?? 0);
    },
  });
  return {
    httpDuration: new Histogram({
      name: 'fersweep_api_request_duration_seconds',
      help: 'Coordinator API request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    submissions: new Counter({
      name: 'fersweep_sweep_submissions_total',
      help: 'Sweep submissions by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    schedulingLatency: new Histogram({
      name: 'fersweep_scheduling_latency_seconds',
      help: 'Time from a sweep submission until all of its first wave of trials were handed to the launcher',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}
