/** Shared by the chart's NATS tests: what a rendered `authorization` block must enforce on a real nats-server. */
import { expect } from '@jest/globals';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/**
 * Connects as the coordinator and as the trainer with their passwords: the coordinator can create the trial
 * stream, the trainer can publish a trial event into it and cannot subscribe to anything of it.
 */
export async function expectTrainerPublishesOnly(
  url: string,
  passwords: { coordinator: string; trainer: string },
): Promise<void> {
  const coordinator = await connect({
    servers: url,
    user: 'fersweep-coordinator',
    pass: passwords.coordinator,
    inboxPrefix: '_INBOX_coordinator',
  });
  const trainer = await connect({
    servers: url,
    user: 'fersweep-trainer',
    pass: passwords.trainer,
    inboxPrefix: '_INBOX_trainer',
  });
  try {
    await (
      await jetstreamManager(coordinator)
    ).streams.add({ name: 'FERSWEEP_TRIALS', subjects: ['fersweep.trials.>'] });
    const ack = await jetstream(trainer).publish('fersweep.trials.s.t.trial_epoch', new TextEncoder().encode('{}'));
    expect(ack.seq).toBe(1);
    const sub = trainer.subscribe('fersweep.trials.>');
    expect(String(await sub.closed)).toMatch(/Permissions Violation for Subscription/);
  } finally {
    await trainer.close();
    await coordinator.close();
  }
}
