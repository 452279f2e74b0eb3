/**
 * Picks the bus a process publishes to from its environment, so trainer code is the same in a
 * cluster (NATS), under the local launcher (IPC to the parent) and standalone (log only).
 */
import type { TrialEvent } from '@fersweep/contracts';
import { redactUrl, silentLogger, validateEvent } from './codec.js';
import { createIpcPublisher, type IpcEndpoint } from './ipc.js';
import { connectNatsBus, type NatsBusOptions } from './nats.js';
import { MessagingError, type Bus, type Logger, type PublishResult, type Subscription } from './types.js';

/** What the caller's own config says about the bus. */
export interface BusSettings {
  /**
   * 'nats': NATS at `url` (or NATS_URL); 'ipc': the parent over the IPC channel (a trainer under
   * the local launcher); 'none' (default): publish only logs at debug. NATS_URL, when set, wins.
   */
  kind?: 'nats' | 'ipc' | 'none';
  /** NATS server URL(s) when NATS_URL is not set. */
  url?: string;
  /** Connection name, e.g. `trainer-<trial>`. */
  name: string;
  logger?: Logger;
  /** Extra NATS options (timeouts, duplicate window). */
  nats?: Omit<NatsBusOptions, 'url' | 'name' | 'logger'>;
  /** The IPC endpoint for kind 'ipc'; default this process. */
  endpoint?: IpcEndpoint;
}

/**
 * The bus for this process:
 * - NATS when `env.NATS_URL` is set, or `settings.kind` is 'nats' with `settings.url`;
 * - the IPC publisher when `settings.kind` is 'ipc' (fails 'Unavailable' without an IPC channel
 *   rather than dropping events silently);
 * - otherwise the log-only bus.
 */
export async function busFromEnv(env: Record<string, string | undefined>, settings: BusSettings): Promise<Bus> {
  const logger = settings.logger ?? silentLogger;
  const url = env.NATS_URL?.trim() || (settings.kind === 'nats' ? settings.url?.trim() : undefined);
  if (url) {
    logger.info(`publishing trial events to NATS at ${redactUrl(url)}`);
    return connectNatsBus({ ...settings.nats, url, name: settings.name, logger });
  }
  if (settings.kind === 'nats')
    throw new MessagingError('InvalidArgument', "bus kind 'nats' needs a server URL: set NATS_URL (e.g. nats://nats:4222)");
  if (settings.kind === 'ipc') {
    const endpoint = settings.endpoint ?? process;
    if (!endpoint.send)
      throw new MessagingError(
        'Unavailable',
        "bus kind 'ipc' needs an IPC channel to a parent process: start this process from the local launcher, or set NATS_URL",
      );
    logger.info('publishing trial events to the parent process over IPC');
    return createIpcPublisher({ endpoint, logger });
  }
  return createLogBus(logger);
}

/**
 * The bus of a process with nowhere to publish (a trainer run by hand): publish still validates,
 * then logs the event at debug and reports it as stored; consume is 'Unsupported'.
 */
export function createLogBus(logger: Logger = silentLogger): Bus {
  let closed = false;
  return {
    async publish(event: TrialEvent): Promise<PublishResult> {
      if (closed) throw new MessagingError('Closed', 'cannot publish: the bus is closed');
      const valid = validateEvent(event);
      logger.debug(`trial event ${valid.type} ${valid.id} (no bus configured)`, { event: valid });
      return { duplicate: false };
    },
    async consume(): Promise<Subscription> {
      throw new MessagingError('Unsupported', 'no bus is configured (set NATS_URL): nothing to consume');
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}
