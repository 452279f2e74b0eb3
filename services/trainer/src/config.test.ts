import { describe, expect, it } from '@jest/globals';
import { TRAINER_EXIT } from '@fersweep/contracts';
import { loadConfig } from './config.js';
import { classify, SpecError } from './errors.js';

describe('the trainer config', () => {
  it('has a default grace period below the Jobs’ 120 s and leaves the rest to the environment', () => {
    expect(loadConfig({})).toEqual({ FERSWEEP_SHUTDOWN_TIMEOUT_MS: 110_000 });
    expect(
      loadConfig({ NATS_URL: 'nats://nats:4222', FERSWEEP_SHUTDOWN_TIMEOUT_MS: '5000', FERSWEEP_TF_BACKEND: '' }),
    ).toEqual({ NATS_URL: 'nats://nats:4222', FERSWEEP_SHUTDOWN_TIMEOUT_MS: 5000 });
  });

  it('refuses a bad value naming the variable and what it is for, as a permanent spec failure (exit 42)', () => {
    let err: unknown;
    try {
      loadConfig({ FERSWEEP_SHUTDOWN_TIMEOUT_MS: 'soon' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect((err as Error).message).toMatch(/^FERSWEEP_SHUTDOWN_TIMEOUT_MS="soon": .*\(Grace period of a SIGTERM/);
    expect(classify(err).exitCode).toBe(TRAINER_EXIT.invalidSpec);
    expect(() => loadConfig({ LOG_LEVEL: 'chatty' })).toThrow(/^LOG_LEVEL="chatty"/);
  });
});
