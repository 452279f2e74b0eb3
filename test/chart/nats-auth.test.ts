/**
 * natsAuth: one NATS user per component. The chart's Secrets reach only their component (the
 * trainer's only the Jobs, through FERSWEEP_TRAINER_NATS_SECRET), and the authorization block it
 * renders for the NATS server is natsPermissions() exactly — loaded by a real nats-server, which
 * then lets the trainer publish a trial event and refuses it a subscription.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { natsPermissions, type NatsComponent } from '@fersweep/messaging';
import { startNats, type RunningNats } from '@fersweep/testkit';
import { expectTrainerPublishesOnly } from './nats-check.js';
import { CHART, helm, render, type K8sObject } from './render.js';

const PASSWORDS = { coordinator: 'pw-coordinator', evaluator: 'pw-evaluator', trainer: 'pw-trainer' };
const SET = [
  '--set',
  `natsAuth.enabled=true,natsAuth.passwords.coordinator=${PASSWORDS.coordinator},natsAuth.passwords.evaluator=${PASSWORDS.evaluator},natsAuth.passwords.trainer=${PASSWORDS.trainer}`,
];
const COMPONENTS: NatsComponent[] = ['coordinator', 'evaluator', 'trainer'];

type Container = {
  envFrom?: { secretRef?: { name: string } }[];
  env?: { name: string; value?: string }[];
};
const containerOf = (objects: K8sObject[], component: string): Container =>
  (
    objects.find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === component)!
      .spec as { template: { spec: { containers: Container[] } } }
  ).template.spec.containers[0]!;

let nats: RunningNats | undefined;
afterAll(async () => nats?.stop());

describe('natsAuth', () => {
  it('gives each component its own Secret, and the trainer Jobs theirs by name only', async () => {
    const objects = await render('minimal-values.yaml', SET);
    const secrets = objects.filter((o) => o.kind === 'Secret' && o.metadata.name.includes('-nats-'));
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual(COMPONENTS.map((c) => `fs-fersweep-nats-${c}`).sort());
    for (const s of secrets)
      expect(Object.keys((s as unknown as { stringData: object }).stringData).sort()).toEqual([
        'NATS_PASSWORD',
        'NATS_USER',
      ]);
    const refs = (c: Container) => (c.envFrom ?? []).flatMap((e) => (e.secretRef ? [e.secretRef.name] : []));
    const coordinator = containerOf(objects, 'coordinator');
    const evaluator = containerOf(objects, 'evaluator');
    expect(refs(coordinator).filter((n) => n.includes('-nats-'))).toEqual(['fs-fersweep-nats-coordinator']);
    expect(refs(evaluator).filter((n) => n.includes('-nats-'))).toEqual(['fs-fersweep-nats-evaluator']);
    expect(coordinator.env?.find((e) => e.name === 'FERSWEEP_TRAINER_NATS_SECRET')?.value).toBe(
      'fs-fersweep-nats-trainer',
    );
    // Off by default: nothing of it rendered.
    const plain = await render('minimal-values.yaml');
    expect(plain.some((o) => o.metadata.name.includes('-nats-'))).toBe(false);
  });

  it('refuses to render without a password or an existing Secret', async () => {
    const { code, out } = await helm([
      'template',
      'fs',
      CHART,
      '--kube-version',
      '1.29.0',
      '-f',
      `${CHART}/ci/minimal-values.yaml`,
      '--set',
      'natsAuth.enabled=true',
    ]);
    expect(code).not.toBe(0);
    expect(out).toContain('natsAuth.passwords.coordinator');
  });

  it('renders natsPermissions() for the NATS server, and a real nats-server enforces it', async () => {
    const objects = await render('minimal-values.yaml', SET);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'fs-fersweep-nats-authorization')!;
    let conf = (cm as unknown as { data: Record<string, string> }).data['authorization.conf']!;
    const rendered: Record<string, { publish: string[]; subscribe: string[] }> = {};
    for (const m of conf.matchAll(
      /user: "fersweep-(\w+)".*?publish: \{ allow: (\[.*?\]) \}, subscribe: \{ allow: (\[.*?\]) \}/gs,
    ))
      rendered[m[1]!] = { publish: JSON.parse(m[2]!), subscribe: JSON.parse(m[3]!) };
    expect(rendered).toEqual(natsPermissions());

    for (const c of COMPONENTS)
      conf = conf.replace(`$FERSWEEP_NATS_${c.toUpperCase()}_PASSWORD`, JSON.stringify(PASSWORDS[c]));
    nats = await startNats({ config: conf });
    await expectTrainerPublishesOnly(nats.url, PASSWORDS);
  });
});
