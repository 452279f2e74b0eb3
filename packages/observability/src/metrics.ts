import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A fresh prom-client Registry for one service instance (never the global one, so tests and
 * several apps in one process do not share metrics), with the process/Node default metrics under
 * the `fersweep_<service>_` prefix unless disabled.
 */
export function createRegistry(options: {
  service: string;
  defaultMetrics?: boolean;
  labels?: Record<string, string>;
}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: `fersweep_${options.service}_` });
  return registry;
}
