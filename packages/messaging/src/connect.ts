/**
 * Picks the bus a process publishes to from its environment, so trainer code is the same in a
 * cluster (NATS), under the local launcher (IPC to the parent) and standalone (log only).
 */
import type { BusSettings, TrialEvent } from '@fersweep/contracts';
import { redactUrl, silentLogger, validateEvent } from './codec.js';
import { createIpcPublisher, type IpcEndpoint } from './ipc.js';
import { connectNatsBus, type NatsBusOptions } from './nats.js';
import { NATS_INBOX } from './permissions.js';
import { MessagingError, type Bus, type Logger, type PublishResult, type Subscription } from './types.js';

/** What is not in the trial spec's BusSettings: how to connect, and test seams. */
export interface BusFromEnvOptions {
  /** Connection name shown by the server, e.g. `trainer-<trial>`. Default `fersweep`. */
  name?: string;
  /** Extra NATS options (timeouts, duplicate window). */
  nats?: Omit<NatsBusOptions, 'url' | 'name' | 'logger'>;
  /** The IPC endpoint for kind 'ipc'; default this process. */
  endpoint?: IpcEndpoint;
}

/**
 * The bus for this process, from the trial spec's `bus` settings (`{ kind, url? }`, contracts'
 * BusSettings) and the environment:
 * - NATS when `env.NATS_URL` is set (it wins over any kind), or kind is 'nats' with `url`: a
 *   publish-only connection (no JetStream API call) with the trainer's inbox prefix, as the user
 *   `NATS_USER` / `NATS_PASSWORD` when set (the trainer's least-privilege user, `natsPermissions`);
 * - the IPC publisher for kind 'ipc' ('Unavailable' at once without an IPC channel, rather than
 *   events dropped silently later);
 * - for kind 'none' (the default), the log-only bus.
 */
export async function busFromEnv(
  env: Record<string, string | undefined>,
  settings: Partial<BusSettings> = {},
  logger: Logger = silentLogger,
  options: BusFromEnvOptions = {},
): Promise<Bus> {
  const url = env.NATS_URL?.trim() || (settings.kind === 'nats' ? settings.url?.trim() : undefined);
  if (url) {
    logger.info(`publishing trial events to NATS at ${redactUrl(url)}`);
    const user = env.NATS_USER?.trim();
    return connectNatsBus({
      mode: 'publish',
      inboxPrefix: NATS_INBOX.trainer,
      ...options.nats,
      ...(user ? { user, pass: env.NATS_PASSWORD ?? '' } : {}),
      url,
      name: options.name ?? 'fersweep',
      logger,
    });
  }
  if (settings.kind === 'nats')
    throw new MessagingError(
      'InvalidArgument',
      "bus kind 'nats' needs a server URL: set NATS_URL (e.g. nats://nats:4222) or bus.url",
    );
  if (settings.kind === 'ipc') {
    const endpoint = options.endpoint ?? process;
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
