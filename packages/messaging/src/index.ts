export {
  MessagingError,
  isMessagingError,
  type Bus,
  type ConsumeOptions,
  type Delivery,
  type EventDelivery,
  type InvalidDelivery,
  type KeyValueStore,
  type KvEntry,
  type KvWatch,
  type KvWatchEntry,
  type KvWatchOptions,
  type Logger,
  type MessagingErrorCode,
  type PublishResult,
  type Subscription,
} from './types.js';
export { subjectMatches } from './subjects.js';
export { createMemoryBus, createMemoryKv, type MemoryBusOptions } from './memory.js';
export { connectNatsBus, openNatsKv, type NatsBus, type NatsBusOptions, type NatsKvOptions } from './nats.js';
export {
  bridgeChildToBus,
  createIpcPublisher,
  type BridgeOptions,
  type IpcAckMessage,
  type IpcBridge,
  type IpcChild,
  type IpcEndpoint,
  type IpcEventMessage,
  type IpcPublisherOptions,
} from './ipc.js';
export { busFromEnv, createLogBus, type BusFromEnvOptions } from './connect.js';
export {
  COORDINATOR_EVENT_TYPES,
  NATS_INBOX,
  TRAINER_EVENT_TYPES,
  natsAuthorizationConfig,
  natsPermissions,
  type NatsComponent,
  type NatsUser,
  type SubjectPermissions,
} from './permissions.js';
export { LaunchVerifier, withoutLaunch, type LaunchCheck, type LaunchVerifierOptions } from './launch-verifier.js';
