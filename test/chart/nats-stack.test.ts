/**
 * helm/fersweep-stack's bundled NATS runs with fersweep's least-privilege users (issue 12): the
 * landed stack left the NATS server open (no authorization block, fersweep.natsAuth off), so any
 * in-cluster client — any trainer pod — could publish anything. Offline, the official NATS chart is not
 * here: the stack is rendered with everything but its NATS and MinIO subcharts (its own templates
 * and the fersweep chart with the stack's values), the `nats:` values are checked to name exactly
 * the Secrets and ConfigMap rendered, and a real nats-server is started the way the NATS chart
 * composes it: nats.conf in its own folder including the mounted authorization block, passwords
 * from the environment.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parse } from 'yaml';
import { startNats, type RunningNats } from '@fersweep/testkit';
import { expectTrainerPublishesOnly } from './nats-check.js';
import { CHART, KUBE_VERSION, STACK, helm, parseObjects, type K8sObject } from './render.js';

const RELEASE = 'demo';
const PASSWORDS = { coordinator: 'pw-c-123', evaluator: 'pw-e-456', trainer: 'pw-t-789' };
type Component = keyof typeof PASSWORDS;
const COMPONENTS = Object.keys(PASSWORDS) as Component[];

let nats: RunningNats | undefined;
const dirs: string[] = [];
afterAll(async () => {
  await nats?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `helm template` of the stack with fersweep as its only subchart (the others need the network). */
async function renderStack(extra: string[] = []): Promise<{ code: number; out: string; objects: K8sObject[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'fersweep-stack-render-'));
  dirs.push(dir);
  const stack = join(dir, 'fersweep-stack');
  cpSync(STACK, stack, { recursive: true });
  rmSync(join(stack, 'Chart.lock'), { force: true });
  const chart = parse(readFileSync(join(STACK, 'Chart.yaml'), 'utf8')) as { dependencies: { name: string }[] };
  chart.dependencies = chart.dependencies.filter((d) => d.name === 'fersweep');
  writeFileSync(join(stack, 'Chart.yaml'), JSON.stringify(chart));
  cpSync(CHART, join(stack, 'charts', 'fersweep'), { recursive: true });
  const r = await helm([
    'template',
    RELEASE,
    stack,
    '--namespace',
    'sweeps',
    '--kube-version',
    KUBE_VERSION,
    '--set',
    'minio.rootPassword=minio-pw,fersweep.auth.tokens[0]=token-0123456789',
    ...extra,
  ]);
  return { ...r, objects: r.code === 0 ? parseObjects(r.out) : [] };
}

const SET_PASSWORDS = ['--set', COMPONENTS.map((c) => `natsAuth.passwords.${c}=${PASSWORDS[c]}`).join(',')];
/** The stack's `nats:` values with the NATS chart's `$tplYaml` of `{{ .Release.Name }}` applied. */
const natsValues = () => {
  const text = readFileSync(join(STACK, 'values.yaml'), 'utf8').replaceAll('{{ .Release.Name }}', RELEASE);
  const tpl = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(tpl)
      : v && typeof v === 'object'
        ? '$tplYaml' in v
          ? (v as { $tplYaml: string }).$tplYaml.trim()
          : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tpl(x)]))
        : v;
  return tpl((parse(text) as { nats: unknown }).nats) as {
    config: { merge: { $include: string } };
    container: {
      env: Record<string, { valueFrom: { secretKeyRef: { name: string; key: string } } }>;
      patch: { op: string; path: string; value: { name: string; mountPath: string } }[];
    };
    podTemplate: { patch: { op: string; path: string; value: { name: string; configMap: { name: string } } }[] };
    natsBox: { enabled: boolean };
  };
};

describe('helm/fersweep-stack: the bundled NATS admits only fersweep’s users', () => {
  it('refuses to render without the three NATS passwords', async () => {
    const r = await renderStack();
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('natsAuth.passwords.');
  });

  it('wires each component to its own Secret, and the NATS server to the same Secrets and the authorization ConfigMap', async () => {
    const { code, out, objects } = await renderStack(SET_PASSWORDS);
    expect([code, code === 0 ? '' : out]).toEqual([0, '']);
    const secrets = new Map(
      objects
        .filter((o) => o.kind === 'Secret' && o.metadata.name.includes('-nats-'))
        .map((o) => [o.metadata.name, (o as unknown as { stringData: Record<string, string> }).stringData]),
    );
    expect([...secrets.keys()].sort()).toEqual(COMPONENTS.map((c) => `${RELEASE}-fersweep-nats-${c}`).sort());
    const envFrom = (component: string) =>
      (
        objects.find(
          (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === component,
        )!.spec as {
          template: {
            spec: {
              containers: { envFrom?: { secretRef?: { name: string } }[]; env?: { name: string; value?: string }[] }[];
            };
          };
        }
      ).template.spec.containers[0]!;
    for (const c of ['coordinator', 'evaluator'] as const)
      expect((envFrom(c).envFrom ?? []).map((e) => e.secretRef?.name)).toContain(`${RELEASE}-fersweep-nats-${c}`);
    expect(envFrom('coordinator').env?.find((e) => e.name === 'FERSWEEP_TRAINER_NATS_SECRET')?.value).toBe(
      `${RELEASE}-fersweep-nats-trainer`,
    );

    const values = natsValues();
    expect(values.natsBox.enabled).toBe(false);
    for (const c of COMPONENTS) {
      const ref = values.container.env[`FERSWEEP_NATS_${c.toUpperCase()}_PASSWORD`]!.valueFrom.secretKeyRef;
      expect(secrets.get(ref.name)?.[ref.key]).toBe(PASSWORDS[c]);
    }
    const volume = values.podTemplate.patch.find((p) => p.path === '/spec/volumes/-')!.value;
    const mount = values.container.patch.find((p) => p.value.name === volume.name)!.value;
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name) as
      (K8sObject & { data: Record<string, string> }) | undefined;
    expect(cm?.data['authorization.conf']).toContain('authorization {');
    // The NATS chart writes /etc/nats-config/nats.conf; its include is relative to that folder, and
    // the reloader only watches mounts under /etc/.
    expect(mount.mountPath.startsWith('/etc/')).toBe(true);
    expect(posix.resolve('/etc/nats-config', values.config.merge.$include)).toBe(
      posix.join(mount.mountPath, 'authorization.conf'),
    );

    // A real nats-server composed the same way: its config folder, the mounted block beside it,
    // the passwords in its environment.
    const root = mkdtempSync(join(tmpdir(), 'fersweep-stack-nats-'));
    dirs.push(root);
    const configDir = join(root, 'etc', 'nats-config');
    const mounted = join(root, posix.resolve('/etc/nats-config', values.config.merge.$include));
    mkdirSync(configDir, { recursive: true });
    mkdirSync(dirname(mounted), { recursive: true });
    writeFileSync(mounted, cm!.data['authorization.conf']!);
    for (const c of COMPONENTS) process.env[`FERSWEEP_NATS_${c.toUpperCase()}_PASSWORD`] = PASSWORDS[c];
    try {
      nats = await startNats({ config: `include ${values.config.merge.$include};\n`, dataDir: configDir });
    } finally {
      for (const c of COMPONENTS) delete process.env[`FERSWEEP_NATS_${c.toUpperCase()}_PASSWORD`];
    }
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization/i);
    await expect(
      connect({ servers: nats.url, user: 'fersweep-trainer', pass: 'wrong', reconnect: false }),
    ).rejects.toThrow(/Authorization/i);
    await expectTrainerPublishesOnly(nats.url, PASSWORDS);
  }, 60_000);
});
