/**
 * `startFakeKube()`: a fake kube-apiserver on 127.0.0.1 (port 0) that speaks the real REST +
 * watch protocol to the real @kubernetes/client-node, with a job controller, garbage collector
 * and kubelet simulator behind it that run each Job's container command as a local process.
 * The one sanctioned Kubernetes test double of fersweep (shared/design/ARCHITECTURE.md).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiServer } from './api.js';
import { JobController } from './controllers.js';
import { HttpFrontend, type FaultSpec, type RecordedRequest } from './http.js';
import { Kubelet, mergeConditions, type CommandContext, type RunningProcess } from './kubelet.js';
import { matchesLabels, parseLabelSelector } from './selectors.js';
import { ObjectStore } from './store.js';
import type { Job, KubeObject, Pod, ResourceName } from './types.js';

/** Options of {@link startFakeKube}. */
export interface FakeKubeOptions {
  /**
   * Run the job controller and the kubelet simulator (default true). Off: an API server whose Jobs
   * never get pods (drive their status through the status subresource); the garbage collector
   * still runs.
   */
  kubelet?: boolean;
  /** Working directory of container processes (default: `process.cwd()`). Container `workingDir` is ignored. */
  cwd?: string;
  /**
   * Environment every container process starts from, before the container's own `env`/`envFrom`
   * (default: just `PATH`, like a container that does not inherit the host's environment).
   */
  env?: Record<string, string>;
  /** Start container processes from this process's whole environment instead (default false). */
  inheritEnv?: boolean;
  /**
   * Replaces a container's argv[0] by name: `{ fersweep: [process.execPath, '/work/main/bin/fersweep.js'] }`
   * runs `['fersweep', 'train', …]` as `node /work/main/bin/fersweep.js train …`. The image is never used.
   */
  commands?: Record<string, readonly string[]>;
  /** Last word on every container argv (after `commands`). */
  mapCommand?: (argv: readonly string[], ctx: CommandContext) => readonly string[];
  /** Default `terminationGracePeriodSeconds` of pods that set none (Kubernetes: 30). */
  terminationGracePeriodSeconds?: number;
  /** Changes kept for watches to resume from (default 1000); older resourceVersions get 410 Expired. */
  watchCacheSize?: number;
  /** Interval of BOOKMARK events to watches with allowWatchBookmarks=true (default 60 000 ms, as the real server). */
  bookmarkIntervalMs?: number;
  /** Delay before the job controller replaces a failed pod (default 0; the real one backs off from 10 s). */
  podRecreateDelayMs?: number;
  /** Delay before the kubelet restarts a container (restartPolicy OnFailure; default 0; real: back-off from 10 s). */
  containerRestartDelayMs?: number;
  /** Require this bearer token (default: any or none is accepted). */
  token?: string;
  /** Namespace of the kubeconfig context (default `default`). */
  namespace?: string;
  /** Diagnostic lines (kubelet and controller decisions). */
  debug?: (message: string) => void;
}

/** Options of {@link FakeKube.waitFor}. */
export interface WaitOptions {
  /** Give up after this long (default 20 000 ms). */
  timeoutMs?: number;
  /** What is being waited for (in the timeout error). */
  what?: string;
}

/** A running fake API server. */
export interface FakeKube {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** A client-node KubeConfig pointing at it (plain http, `skipTLSVerify`, as client-node 1.4 requires for http). */
  readonly kubeConfig: KubeConfig;
  /** The same as a kubeconfig YAML document (for a KUBECONFIG file of a child process). */
  readonly kubeconfigYaml: string;
  /** Kills every container process, closes every stream and the server. */
  stop(): Promise<void>;

  /** A Job as stored (undefined when absent). */
  getJob(name: string, namespace?: string): Job | undefined;
  /** Jobs of a namespace (all namespaces when omitted). */
  listJobs(namespace?: string): Job[];
  /** A Pod as stored. */
  getPod(name: string, namespace?: string): Pod | undefined;
  /** Pods, optionally of one Job (by `job-name` label) and/or matching a label selector. */
  listPods(filter?: { namespace?: string; jobName?: string; labelSelector?: string }): Pod[];
  /** A container's log (kept after the pod is gone); `''` when it never ran. */
  podLog(podName: string, options?: { namespace?: string; container?: string; previous?: boolean }): string;
  /** Container processes running now. */
  processes(): RunningProcess[];
  /** Every request served so far. */
  requests(): readonly RecordedRequest[];
  /** The current resourceVersion. */
  resourceVersion(): string;
  /** Open watch streams. */
  watchCount(): number;
  /** Errors the controllers or the kubelet hit (a bug in kube-fake, or in what it was given); empty when all is well. */
  errors(): readonly string[];
  /** Creates an object directly (as if through the API, with validation), e.g. a Secret. */
  create<T extends KubeObject>(resource: ResourceName, object: T, namespace?: string): T;
  /**
   * Resolves with the first truthy value of `check`, evaluated now, after every change in the
   * cluster and every 50 ms; rejects after `timeoutMs`.
   */
  waitFor<T>(check: () => T | undefined | null | false, options?: WaitOptions): Promise<T>;

  /** Answers an API error to the next matching request(s). */
  failNext(fault: FaultSpec): void;
  /** Ends every watch stream (`reset`: destroys the sockets instead); returns how many. */
  dropWatches(options?: { mode?: 'end' | 'reset' }): number;
  /**
   * Compacts history: every resourceVersion handed out so far is expired, so the next watch that
   * resumes from one gets 410 Expired and the client must relist.
   */
  expireResourceVersions(): void;
  /** Sends a BOOKMARK now to every watch that allows them. */
  sendBookmarks(): void;
  /**
   * Preempts a Job's running pod as the scheduler does: condition DisruptionTarget (reason
   * PreemptionByScheduler), then graceful deletion (SIGTERM, SIGKILL after the grace period).
   * Resolves with the pod's name.
   */
  preemptPod(jobName: string, options?: { namespace?: string; reason?: string; timeoutMs?: number }): Promise<string>;
}

/** Runs keyed reconcile functions on the next turn of the event loop, each key once per turn. */
class WorkQueue {
  private readonly keys = new Set<string>();
  private scheduled = false;
  private stopped = false;
  constructor(
    private readonly handler: (key: string) => void,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}
  add(key: string): void {
    if (this.stopped) return;
    this.keys.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }
  private drain(): void {
    this.scheduled = false;
    // A bounded batch per turn, so that I/O (HTTP, process exits) interleaves with reconciles.
    for (let n = 0; this.keys.size > 0 && !this.stopped && n < 1000; n++) {
      const key = this.keys.values().next().value as string;
      this.keys.delete(key);
      try {
        this.handler(key);
      } catch (err) {
        this.onError(key, err);
      }
    }
    if (this.keys.size > 0 && !this.stopped) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }
  stop(): void {
    this.stopped = true;
    this.keys.clear();
  }
}

function kubeconfigYaml(url: string, token: string, namespace: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: kube-fake',
    '    cluster:',
    `      server: ${url}`,
    '      insecure-skip-tls-verify: true',
    'users:',
    '  - name: kube-fake',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    '  - name: kube-fake',
    '    context:',
    '      cluster: kube-fake',
    '      user: kube-fake',
    `      namespace: ${namespace}`,
    'current-context: kube-fake',
    '',
  ].join('\n');
}

/** Starts a fake kube-apiserver (+ controllers + kubelet) on 127.0.0.1, port 0. */
export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const simulate = options.kubelet ?? true;
  const grace = options.terminationGracePeriodSeconds ?? 30;
  const store = new ObjectStore({
    historySize: options.watchCacheSize ?? 1000,
    canRemove: (resource, obj) => {
      if (resource !== 'pods' || !simulate) return true;
      // A pod leaves the API once the kubelet has stopped it (or it never ran, or force delete).
      const pod = obj as Pod;
      return (
        pod.status?.phase === 'Succeeded' ||
        pod.status?.phase === 'Failed' ||
        !pod.spec?.nodeName ||
        pod.metadata.deletionGracePeriodSeconds === 0
      );
    },
  });
  const api = new ApiServer(store, { terminationGracePeriodSeconds: grace });
  const debug = options.debug;
  const internalErrors: string[] = [];
  let kubelet: Kubelet | undefined;
  // Keys run on a later turn, after `controller` below is initialised.
  const queue = new WorkQueue(
    (key) => {
      if (key === 'gc') return controller.gc();
      const [kind, rest = ''] = key.split(':', 2) as [string, string | undefined];
      const slash = rest.indexOf('/');
      const ns = rest.slice(0, slash);
      const name = rest.slice(slash + 1);
      if (kind === 'job' && simulate) controller.syncJob(ns, name);
      else if (kind === 'pod') kubelet?.sync(ns, name);
    },
    (key, err) => {
      const message = `kube-fake: reconcile ${key} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
      internalErrors.push(message);
      debug?.(message);
    },
  );
  if (simulate) {
    const baseEnv: Record<string, string> = options.inheritEnv
      ? Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined))
      : { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
    kubelet = new Kubelet(
      store,
      {
        cwd: options.cwd ?? process.cwd(),
        baseEnv: { ...baseEnv, ...(options.env ?? {}) },
        commands: options.commands ?? {},
        ...(options.mapCommand ? { mapCommand: options.mapCommand } : {}),
        restartDelayMs: options.containerRestartDelayMs ?? 0,
        nodeName: 'kube-fake-node',
        logLimitBytes: 10 * 1024 * 1024,
        ...(debug ? { debug } : {}),
      },
      (k) => queue.add(k),
    );
  }
  // The garbage collector always runs (so that deletes with finalizers complete); the job
  // controller only with the kubelet (without it nothing would run the pods it creates).
  const controller = new JobController(
    store,
    api,
    { podRecreateDelayMs: options.podRecreateDelayMs ?? 0, ...(debug ? { debug } : {}) },
    (k) => queue.add(k),
  );
  const changeListeners = new Set<() => void>();
  store.onChange((e) => {
    kubelet?.onEvent(e);
    controller.onEvent(e);
    for (const l of [...changeListeners]) l();
  });

  const token = options.token ?? 'kube-fake-token';
  const frontend = new HttpFrontend(api, kubelet, {
    ...(options.token !== undefined ? { token: options.token } : {}),
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    kubernetesVersion: { major: '1', minor: '31', gitVersion: 'v1.31.0-kube-fake' },
  });
  const server: Server = createServer((req, res) => frontend.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const namespace = options.namespace ?? 'default';
  const yaml = kubeconfigYaml(url, token, namespace);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(yaml);

  let stopped = false;
  const fake: FakeKube = {
    url,
    kubeConfig,
    kubeconfigYaml: yaml,
    async stop() {
      if (stopped) return;
      stopped = true;
      queue.stop();
      controller.stop();
      await kubelet?.stop();
      frontend.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    getJob: (name, ns = namespace) => store.get<Job>('jobs', ns, name),
    listJobs: (ns) => store.list<Job>('jobs', ns),
    getPod: (name, ns = namespace) => store.get<Pod>('pods', ns, name),
    listPods(filter = {}) {
      const reqs = parseLabelSelector(filter.labelSelector ?? '');
      return store
        .list<Pod>('pods', filter.namespace)
        .filter((p) => matchesLabels(reqs, p.metadata.labels))
        .filter((p) => filter.jobName === undefined || p.metadata.labels?.['job-name'] === filter.jobName);
    },
    podLog(podName, opts = {}) {
      const log = kubelet?.log(opts.namespace ?? namespace, podName, opts.container, opts.previous ?? false);
      return log?.text() ?? '';
    },
    processes: () => kubelet?.processes() ?? [],
    requests: () => frontend.requests(),
    resourceVersion: () => String(store.resourceVersion),
    watchCount: () => frontend.watchCount(),
    errors: () => internalErrors,
    create<T extends KubeObject>(resource: ResourceName, object: T, ns = namespace): T {
      return api.create<T>(resource, ns, object);
    },
    waitFor<T>(check: () => T | undefined | null | false, opts: WaitOptions = {}): Promise<T> {
      const timeoutMs = opts.timeoutMs ?? 20_000;
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        const finish = (fn: () => void) => {
          if (settled) return;
          settled = true;
          changeListeners.delete(evaluate);
          clearInterval(poll);
          clearTimeout(timer);
          fn();
        };
        const evaluate = () => {
          if (settled) return;
          try {
            const v = check();
            if (v) finish(() => resolve(v));
          } catch (err) {
            finish(() => reject(err instanceof Error ? err : new Error(String(err))));
          }
        };
        const poll = setInterval(evaluate, 50);
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(new Error(`kube-fake: timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'}`)),
            ),
          timeoutMs,
        );
        changeListeners.add(evaluate);
        evaluate();
      });
    },
    failNext: (fault) => frontend.failNext(fault),
    dropWatches: (opts = {}) => frontend.dropWatches(opts.mode ?? 'end'),
    expireResourceVersions: () => store.compact(),
    sendBookmarks: () => frontend.sendBookmarks(),
    async preemptPod(jobName, opts = {}) {
      const ns = opts.namespace ?? namespace;
      const running = await fake.waitFor(
        () =>
          store
            .list<Pod>('pods', ns)
            .find(
              (p) =>
                p.metadata.labels?.['job-name'] === jobName &&
                p.status?.phase === 'Running' &&
                !p.metadata.deletionTimestamp,
            ),
        { timeoutMs: opts.timeoutMs ?? 20_000, what: `a running pod of job ${jobName}` },
      );
      const pod = store.get<Pod>('pods', ns, running.metadata.name ?? '');
      if (!pod) throw new Error(`kube-fake: pod ${running.metadata.name ?? ''} vanished`);
      pod.status = {
        ...(pod.status ?? {}),
        conditions: mergeConditions(pod.status?.conditions, [
          {
            type: 'DisruptionTarget',
            status: 'True',
            reason: opts.reason ?? 'PreemptionByScheduler',
            message: 'kube-fake-scheduler: preempting to accommodate a higher priority pod',
          },
        ]),
      };
      store.update('pods', pod);
      api.delete('pods', ns, pod.metadata.name ?? '', {});
      return pod.metadata.name ?? '';
    },
  };
  return fake;
}
