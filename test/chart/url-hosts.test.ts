/**
 * trainer.urlPrivateHosts reaches the trainer Jobs as FERSWEEP_URL_PRIVATE_HOSTS (their shared
 * ConfigMap): the only names a sweep's http(s) URL may reach on a private address, checked when the
 * trainer connects (packages/models guardedFetch). Absent by default: nothing private is reachable.
 */
import { describe, expect, it } from '@jest/globals';
import { render, type K8sObject } from './render.js';

const trainerEnv = (objects: K8sObject[]) =>
  (
    objects.find((o) => o.kind === 'ConfigMap' && 'NATS_URL' in ((o as { data?: object }).data ?? {})) as unknown as {
      data: Record<string, string>;
    }
  ).data;

describe('trainer.urlPrivateHosts', () => {
  it('is FERSWEEP_URL_PRIVATE_HOSTS of the trainer ConfigMap, and unset by default', async () => {
    expect(trainerEnv(await render('minimal-values.yaml'))).not.toHaveProperty('FERSWEEP_URL_PRIVATE_HOSTS');
    const set = await render('minimal-values.yaml', [
      '--set',
      'trainer.urlPrivateHosts[0]=mirror.models.svc,trainer.urlPrivateHosts[1]=weights.internal',
    ]);
    expect(trainerEnv(set).FERSWEEP_URL_PRIVATE_HOSTS).toBe('mirror.models.svc,weights.internal');
  });

  it('refuses a value that is not a host name', async () => {
    await expect(render('minimal-values.yaml', ['--set', 'trainer.urlPrivateHosts[0]=a b'])).rejects.toThrow(
      /urlPrivateHosts/,
    );
  });
});
