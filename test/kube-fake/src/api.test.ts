/**
 * The API server half, driven by the real @kubernetes/client-node 1.4 (no kubelet: nothing runs).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Job,
} from '@kubernetes/client-node';
import { startFakeKube, type FakeKube, type KubeStatus } from './index.js';

const NS = 'default';

function job(name: string, labels: Record<string, string> = {}): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'node:20', command: ['node', '-e', 'process.exit(0)'] }],
        },
      },
    },
  };
}

/** The Status body of a failed client-node call. */
async function statusOf(call: Promise<unknown>): Promise<KubeStatus> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) return JSON.parse(err.body as string) as KubeStatus;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('kube-fake API server (client-node 1.4, no kubelet)', () => {
  let kube: FakeKube;
  let batch: BatchV1Api;
  let core: CoreV1Api;

  beforeAll(async () => {
    kube = await startFakeKube({ kubelet: false });
    batch = kube.kubeConfig.makeApiClient(BatchV1Api);
    core = kube.kubeConfig.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await kube.stop();
  });

  it('creates, gets, lists with label and field selectors, and deletes Jobs', async () => {
    const created = await batch.createNamespacedJob({
      namespace: NS,
      body: job('crud-a', { app: 'sweep', trial: 'a' }),
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    // Server-side defaults, as the real API server fills them in.
    expect(created.spec?.completions).toBe(1);
    expect(created.spec?.parallelism).toBe(1);
    expect(created.spec?.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']).toBe(created.metadata?.uid);
    expect(created.spec?.template.metadata?.labels?.['job-name']).toBe('crud-a');
    expect(created.spec?.template.spec?.terminationGracePeriodSeconds).toBe(30);
    await batch.createNamespacedJob({ namespace: NS, body: job('crud-b', { app: 'sweep', trial: 'b' }) });
    await batch.createNamespacedJob({ namespace: NS, body: job('crud-c', { app: 'sweep', trial: 'c', skip: 'yes' }) });

    const got = await batch.readNamespacedJob({ name: 'crud-a', namespace: NS });
    expect(got.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    const list = await batch.listNamespacedJob({ namespace: NS, labelSelector: 'app=sweep,trial in (a,c)' });
    expect(list.items.map((j) => j.metadata?.name)).toEqual(['crud-a', 'crud-c']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata?.resourceVersion));
    const notSkipped = await batch.listNamespacedJob({ namespace: NS, labelSelector: 'app,!skip' });
    expect(notSkipped.items.map((j) => j.metadata?.name)).toEqual(['crud-a', 'crud-b']);
    const byName = await batch.listNamespacedJob({ namespace: NS, fieldSelector: 'metadata.name=crud-b' });
    expect(byName.items.map((j) => j.metadata?.name)).toEqual(['crud-b']);
    const page = await batch.listNamespacedJob({ namespace: NS, labelSelector: 'app=sweep', limit: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.metadata?._continue).toBeTruthy();
    const rest = await batch.listNamespacedJob({
      namespace: NS,
      labelSelector: 'app=sweep',
      _continue: page.metadata?._continue,
    });
    expect(rest.items.map((j) => j.metadata?.name)).toEqual(['crud-c']);

    const del = await batch.deleteNamespacedJob({ name: 'crud-a', namespace: NS, propagationPolicy: 'Background' });
    expect(del.status).toBe('Success');
    const gone = await statusOf(batch.readNamespacedJob({ name: 'crud-a', namespace: NS }));
    expect(gone).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    expect(gone.message).toBe('jobs.batch "crud-a" not found');
    await batch.deleteCollectionNamespacedJob({
      namespace: NS,
      labelSelector: 'app=sweep',
      propagationPolicy: 'Background',
    });
    expect((await batch.listNamespacedJob({ namespace: NS })).items).toHaveLength(0);
  });

  it('warns that pods are orphaned when a Job is deleted without a propagation policy', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: job('orphaning') });
    const res = await fetch(`${kube.url}/apis/batch/v1/namespaces/${NS}/jobs/orphaning`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.headers.get('warning')).toContain('child pods are preserved by default when jobs are deleted');
    // The garbage collector removes the orphan finalizer, then the Job is gone.
    await kube.waitFor(() => kube.getJob('orphaning') === undefined, { what: 'the job to go' });
  });

  it('rejects a second Job with the same name with 409 AlreadyExists', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: job('dup') });
    const status = await statusOf(batch.createNamespacedJob({ namespace: NS, body: job('dup') }));
    expect(status).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'AlreadyExists',
      code: 409,
      message: 'jobs.batch "dup" already exists',
      details: { name: 'dup', group: 'batch', kind: 'jobs' },
    });
  });

  it('rejects invalid Jobs with 422 Invalid and the field path of each cause', async () => {
    const bad = job('Bad_Name', { 'bad label': 'x', ok: 'not ok!' });
    const status = await statusOf(batch.createNamespacedJob({ namespace: NS, body: bad }));
    expect(status).toMatchObject({
      reason: 'Invalid',
      code: 422,
      details: { name: 'Bad_Name', group: 'batch', kind: 'Job' },
    });
    expect(status.message).toMatch(/^Job\.batch "Bad_Name" is invalid: \[/);
    const fields = (status.details?.causes ?? []).map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'metadata.labels']));
    expect(status.details?.causes?.find((c) => c.field === 'metadata.name')).toMatchObject({
      reason: 'FieldValueInvalid',
      message: expect.stringContaining('a lowercase RFC 1123 subdomain'),
    });

    const noContainers = job('no-containers');
    if (noContainers.spec?.template.spec) noContainers.spec.template.spec.containers = [];
    const s2 = await statusOf(batch.createNamespacedJob({ namespace: NS, body: noContainers }));
    expect(s2.details?.causes).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers' },
    ]);

    const mixed = job('mixed');
    const spec = mixed.spec?.template.spec;
    if (!spec || !mixed.spec) throw new Error('unreachable');
    spec.restartPolicy = 'Always';
    spec.containers = [
      {
        name: 'Main',
        image: 'x',
        env: [{ name: '1BAD', value: 'x' }],
        resources: { limits: { 'nvidia.com/gpu': '1', cpu: '500m' }, requests: { cpu: '1' } },
      },
    ];
    mixed.spec.podFailurePolicy = { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [0, 42] } }] };
    const s3 = await statusOf(batch.createNamespacedJob({ namespace: NS, body: mixed }));
    expect((s3.details?.causes ?? []).map((c) => c.field).sort()).toEqual(
      [
        'spec.podFailurePolicy.rules[0].onExitCodes.values[0]',
        'spec.template.spec.containers[0].env[0].name',
        'spec.template.spec.containers[0].name',
        'spec.template.spec.containers[0].resources.requests[cpu]',
        'spec.template.spec.restartPolicy',
      ].sort(),
    );
    expect(kube.getJob('mixed')).toBeUndefined();
  });

  it('answers a schema violation (a quantity that does not parse) with 422', async () => {
    const res = await fetch(`${kube.url}/apis/batch/v1/namespaces/${NS}/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        ...job('bad-quantity'),
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'main', image: 'x', resources: { limits: { memory: 'lots' } } }],
            },
          },
        },
      }),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as KubeStatus;
    expect(body.details?.causes?.[0]?.field).toBe('spec.template.spec.containers[0].resources.limits[memory]');
  });

  it('streams watch events in order and resumes from a resourceVersion', async () => {
    const watch = new Watch(kube.kubeConfig);
    const path = `/apis/batch/v1/namespaces/${NS}/jobs`;
    const events: Array<{ type: string; name?: string; rv?: string }> = [];
    const ctl = await watch.watch(
      path,
      { labelSelector: 'watched=yes' },
      (type, obj: V1Job) => events.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion }),
      () => undefined,
    );
    await batch.createNamespacedJob({ namespace: NS, body: job('w1', { watched: 'yes' }) });
    await batch.patchNamespacedJob(
      { name: 'w1', namespace: NS, body: { metadata: { annotations: { touched: 'yes' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await batch.createNamespacedJob({ namespace: NS, body: job('w2', { watched: 'no' }) });
    await batch.deleteNamespacedJob({ name: 'w1', namespace: NS, propagationPolicy: 'Background' });
    await kube.waitFor(() => events.length >= 3, { what: 'three watch events' });
    ctl.abort();
    expect(events.map((e) => `${e.type} ${e.name ?? ''}`)).toEqual(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
    const rvs = events.map((e) => Number(e.rv));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);

    // Resume after the ADDED: only what came later.
    const resumed: string[] = [];
    const ctl2 = await watch.watch(
      path,
      { resourceVersion: events[0]?.rv, labelSelector: 'watched=yes' },
      (type, obj: V1Job) => resumed.push(`${type} ${obj.metadata?.name ?? ''}`),
      () => undefined,
    );
    await kube.waitFor(() => resumed.length >= 2, { what: 'replayed events' });
    ctl2.abort();
    expect(resumed).toEqual(['MODIFIED w1', 'DELETED w1']);
  });

  it('answers 410 Expired to a watch from a compacted resourceVersion, and ListWatch relists', async () => {
    const path = `/apis/batch/v1/namespaces/${NS}/jobs`;
    const listFn = () => batch.listNamespacedJob({ namespace: NS, labelSelector: 'informer=yes' });
    const informer = new ListWatch<V1Job>(path, new Watch(kube.kubeConfig), listFn, false, 'informer=yes');
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    await batch.createNamespacedJob({ namespace: NS, body: job('inf1', { informer: 'yes' }) });
    await kube.waitFor(() => informer.get('inf1', NS), { what: 'the informer to see inf1' });
    const listsBefore = kube.requests().filter((r) => r.verb === 'list' && r.resource === 'jobs').length;

    // The client's resourceVersion falls out of the window; its next watch gets 410 and it must relist.
    kube.expireResourceVersions();
    const raw = await fetch(`${kube.url}${path}?watch=true&resourceVersion=${informer.latestResourceVersion()}`);
    const line = JSON.parse((await raw.text()).trim()) as { type: string; object: KubeStatus };
    expect(line).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(kube.dropWatches()).toBeGreaterThan(0);
    await kube.waitFor(
      () => kube.requests().filter((r) => r.verb === 'list' && r.resource === 'jobs').length > listsBefore,
      { what: 'the relist' },
    );
    await batch.createNamespacedJob({ namespace: NS, body: job('inf2', { informer: 'yes' }) });
    await kube.waitFor(() => informer.get('inf2', NS), { what: 'the informer to see inf2 after relisting' });
    expect(errors).toEqual([]);
    await informer.stop();
  });

  it('sends BOOKMARK events to watches that allow them', async () => {
    const types: string[] = [];
    const ctl = await new Watch(kube.kubeConfig).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { allowWatchBookmarks: true, resourceVersion: kube.resourceVersion() },
      (type) => types.push(type),
      () => undefined,
    );
    await kube.waitFor(() => kube.watchCount() > 0, { what: 'the watch to open' });
    kube.sendBookmarks();
    await kube.waitFor(() => types.includes('BOOKMARK'), { what: 'a bookmark' });
    ctl.abort();
  });

  it('injects API errors: a 500 once, then 429 with Retry-After', async () => {
    kube.failNext({ verb: 'create', resource: 'jobs', code: 500 });
    const s = await statusOf(batch.createNamespacedJob({ namespace: NS, body: job('flaky') }));
    expect(s).toMatchObject({ code: 500, reason: 'InternalError' });
    expect(kube.getJob('flaky')).toBeUndefined();
    await batch.createNamespacedJob({ namespace: NS, body: job('flaky') });

    kube.failNext({ verb: 'get', resource: 'jobs', name: 'flaky', code: 429, retryAfterSeconds: 2 });
    const res = await fetch(`${kube.url}/apis/batch/v1/namespaces/${NS}/jobs/flaky`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(((await res.json()) as KubeStatus).details?.retryAfterSeconds).toBe(2);
    expect((await batch.readNamespacedJob({ name: 'flaky', namespace: NS })).metadata?.name).toBe('flaky');
  });

  it('can lose the response of a create that succeeded, so that the retry meets 409 AlreadyExists', async () => {
    kube.failNext({
      verb: 'create',
      resource: 'jobs',
      code: 504,
      when: 'after',
      message: 'Timeout: request did not complete',
    });
    expect(await statusOf(batch.createNamespacedJob({ namespace: NS, body: job('lost') }))).toMatchObject({
      code: 504,
      reason: 'Timeout',
    });
    expect(kube.getJob('lost')).toBeDefined();
    expect(await statusOf(batch.createNamespacedJob({ namespace: NS, body: job('lost') }))).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
    });
  });

  it('supports dry runs, optimistic concurrency and the status subresource', async () => {
    const dry = await batch.createNamespacedJob({ namespace: NS, body: job('dry'), dryRun: 'All' });
    expect(dry.metadata?.name).toBe('dry');
    expect(kube.getJob('dry')).toBeUndefined();

    const j = await batch.createNamespacedJob({ namespace: NS, body: job('occ') });
    const stale = { ...j, metadata: { ...j.metadata, resourceVersion: '1' } };
    const conflict = await statusOf(batch.replaceNamespacedJob({ name: 'occ', namespace: NS, body: stale }));
    expect(conflict).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(conflict.message).toContain('the object has been modified');

    const withStatus = { ...j, status: { active: 1, startTime: new Date('2024-01-01T00:00:00Z') } };
    const updated = await batch.replaceNamespacedJobStatus({ name: 'occ', namespace: NS, body: withStatus });
    expect(updated.status?.active).toBe(1);
    expect(updated.metadata?.generation).toBe(1);

    const immutable = await statusOf(
      batch.patchNamespacedJob({
        name: 'occ',
        namespace: NS,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'other' }],
      }),
    );
    expect(immutable.details?.causes?.[0]).toMatchObject({
      field: 'spec.template',
      message: expect.stringContaining('field is immutable'),
    });
  });

  it('stores Secrets with stringData merged into base64 data', async () => {
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'creds' }, stringData: { token: 's3cr3t' } },
    });
    const s = await core.readNamespacedSecret({ name: 'creds', namespace: NS });
    expect(s.data?.token).toBe(Buffer.from('s3cr3t').toString('base64'));
    expect(s.stringData).toBeUndefined();
    expect(s.type).toBe('Opaque');
    const bad = await statusOf(
      core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cm' }, data: { 'bad key': 'x' } } }),
    );
    expect(bad).toMatchObject({ code: 422, details: { kind: 'ConfigMap', causes: [{ field: 'data' }] } });
  });
});
