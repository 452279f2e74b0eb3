import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A fresh prom-client Registry for one service instance (never the global one, so tests and
 * several apps in one process do not share metrics), with the process/Node default metrics under
 * the `fersweep_<service>_` prefix unless disabled — less the ones `promtool check metrics` rejects
 * (see {@link dropLintFailingMetrics}).
 */
export function createRegistry(options: {
  service: string;
  defaultMetrics?: boolean;
  labels?: Record<string, string>;
}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: `fersweep_${options.service}_` });
    dropLintFailingMetrics(registry);
  }
  return registry;
}

/**
 * Removes metrics that `promtool check metrics` rejects: prom-client's default Node metrics include
 * gauges named `…_total` (nodejs_active_handles_total, _requests_total, _resources_total), a suffix
 * Prometheus reserves for counters. Returns the names removed.
 */
export function dropLintFailingMetrics(registry: Registry): string[] {
  const removed: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const name = (metric as unknown as { name: string }).name;
    if (name.endsWith('_total') && !(metric instanceof Counter)) {
      registry.removeSingleMetric(name);
      removed.push(name);
    }
  }
  return removed;
}
