/**
 * The kubelet simulator: schedules every pod onto one fake node and runs each container's
 * `command` + `args` as a local child process (the image is not pulled or used), with the
 * container's environment resolved as the kubelet does (env, valueFrom secretKeyRef /
 * configMapKeyRef / fieldRef / resourceFieldRef, envFrom, `$(VAR)` expansion). stdout and stderr
 * become the container log. Pod status follows the real lifecycle (Pending → Running →
 * Succeeded/Failed) with containerStatuses; graceful deletion sends SIGTERM to the container's
 * process group, then SIGKILL after the pod's grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { ObjectStore, StoreEvent } from './store.js';
import type { Container, ContainerStatus, Pod, PodStatus } from './types.js';
import { clone, nowTime } from './types.js';
import { ContainerLog } from './container-log.js';
import { qosClass } from './defaults.js';
import { expandVars, resolveEnv } from './kubelet-env.js';
import { buildStatus, mergeConditions, type ContainerRun, type PodRun, type Termination } from './kubelet-status.js';

/** What a command mapping sees of the container it maps. */
export interface CommandContext {
  namespace: string;
  pod: string;
  container: string;
  image: string;
  /** The resolved container environment (what the process will get). */
  env: Readonly<Record<string, string>>;
}

/** Options of the kubelet simulator. */
export { ContainerLog, type LogLine } from './container-log.js';
export { expandVars } from './kubelet-env.js';
export { mergeConditions } from './kubelet-status.js';

export interface KubeletOptions {
  /** Working directory of every process (a container's `workingDir` is an image path: ignored). */
  cwd: string;
  /** Environment every process starts from, before the container's own env. */
  baseEnv: Record<string, string>;
  /** Replaces argv[0] by name, e.g. `{ fersweep: [process.execPath, 'bin/fersweep.js'] }`. */
  commands: Record<string, readonly string[]>;
  /** Last word on the argv of every process (after `commands`). */
  mapCommand?: (argv: readonly string[], ctx: CommandContext) => readonly string[];
  /** Delay before restarting a container (restartPolicy OnFailure/Always); the real kubelet backs off from 10 s. */
  restartDelayMs: number;
  /** Name of the one fake node. */
  nodeName: string;
  /** Log bytes kept per container (oldest lines dropped beyond it). */
  logLimitBytes: number;
  /** Diagnostic output (off unless given). */
  debug?: (message: string) => void;
}

/** A process the kubelet runs, for inspection. */
export interface RunningProcess {
  namespace: string;
  pod: string;
  container: string;
  pid: number;
}

const podKey = (ns: string, name: string) => `${ns}/${name}`;
const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** The kubelet simulator (one node). */
export class Kubelet {
  private readonly runs = new Map<string, PodRun>();
  /** Logs by pod key and container; kept after the pod is gone so tests can read them. */
  private readonly logs = new Map<string, Map<string, { current: ContainerLog; previous?: ContainerLog }>>();
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: KubeletOptions,
    private readonly enqueue: (key: string) => void,
  ) {}

  /** Store listener: which pods to look at again. */
  onEvent(e: StoreEvent): void {
    if (e.resource === 'pods') this.enqueue(`pod:${e.object.metadata.namespace ?? ''}/${e.object.metadata.name ?? ''}`);
    else if (e.resource === 'secrets' || e.resource === 'configmaps') {
      // A pod waiting on a missing Secret/ConfigMap starts once it appears.
      const ns = e.object.metadata.namespace ?? '';
      for (const pod of this.store.list<Pod>('pods', ns))
        if (pod.status?.phase === 'Pending') this.enqueue(`pod:${ns}/${pod.metadata.name ?? ''}`);
    }
  }

  /** The log of a container (the first one when not named; current run, or the previous one), if it ever ran. */
  log(namespace: string, pod: string, container: string | undefined, previous = false): ContainerLog | undefined {
    const byContainer = this.logs.get(podKey(namespace, pod));
    const entry = container === undefined ? byContainer?.values().next().value : byContainer?.get(container);
    return previous ? entry?.previous : entry?.current;
  }

  /** Whether the container of that pod instance has started at least once. */
  containerStarted(pod: Pod, container: string): boolean {
    const run = this.runs.get(pod.metadata.uid ?? '');
    if (run) return run.containers.get(container)?.startedAt !== undefined;
    return this.logs.get(podKey(pod.metadata.namespace ?? '', pod.metadata.name ?? ''))?.has(container) ?? false;
  }

  /** Processes now running. */
  processes(): RunningProcess[] {
    const out: RunningProcess[] = [];
    for (const run of this.runs.values())
      for (const c of run.containers.values())
        if (c.child && c.pid !== undefined)
          out.push({ namespace: run.namespace, pod: run.name, container: c.name, pid: c.pid });
    return out;
  }

  /** Reconciles one pod (called from the work queue). */
  sync(namespace: string, name: string): void {
    if (this.stopped) return;
    const pod = this.store.get<Pod>('pods', namespace, name);
    const runsOfKey = [...this.runs.values()].filter((r) => r.namespace === namespace && r.name === name);
    for (const r of runsOfKey)
      if (!pod || r.uid !== pod.metadata.uid) {
        // Force-deleted (or replaced by a new pod of the same name): stop what still runs.
        this.terminate(r, r.grace);
        if (this.liveCount(r) === 0) this.forget(r);
      }
    if (!pod) return;
    const uid = pod.metadata.uid ?? '';
    const run = this.runs.get(uid);

    if (pod.metadata.deletionTimestamp) {
      if (run && this.liveCount(run) > 0) {
        this.terminate(run, pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
        return;
      }
      if (run) for (const c of run.containers.values()) this.cancelRestart(run, c);
      if (!isTerminal(pod)) this.writeStatus(pod, run, true);
      return;
    }
    if (isTerminal(pod)) return;
    if (!pod.spec?.nodeName) {
      this.bind(pod);
      return;
    }
    if (run) return;

    // Start every container, or report why not.
    const containers = pod.spec.containers;
    const envs = new Map<string, Record<string, string>>();
    for (const c of containers) {
      const r = resolveEnv(pod, c, this.store, this.options);
      if ('error' in r) {
        this.writeWaiting(pod, c.name, 'CreateContainerConfigError', r.error);
        return;
      }
      envs.set(c.name, r.env);
    }
    const newRun: PodRun = {
      uid,
      namespace,
      name,
      containers: new Map(containers.map((c) => [c.name, { name: c.name, restartCount: 0 }])),
      terminating: false,
      grace: pod.spec.terminationGracePeriodSeconds ?? 30,
    };
    this.runs.set(uid, newRun);
    for (const c of containers) {
      const cr = newRun.containers.get(c.name);
      if (cr) this.start(pod, newRun, cr, c, envs.get(c.name) ?? {});
    }
    this.writeStatus(pod, newRun);
  }

  private liveCount(run: PodRun): number {
    let n = 0;
    for (const c of run.containers.values()) if (c.child) n++;
    return n;
  }

  private forget(run: PodRun): void {
    if (run.killTimer) clearTimeout(run.killTimer);
    for (const c of run.containers.values()) if (c.restartTimer) clearTimeout(c.restartTimer);
    this.runs.delete(run.uid);
  }

  /** The scheduler's part: bind to the fake node (PodScheduled). */
  private bind(pod: Pod): void {
    const next = clone(pod);
    if (!next.spec) return;
    next.spec.nodeName = this.options.nodeName;
    const status: PodStatus = next.status ?? {};
    status.phase = 'Pending';
    status.conditions = mergeConditions(status.conditions, [{ type: 'PodScheduled', status: 'True' }]);
    status.qosClass ??= qosClass(next.spec);
    next.status = status;
    this.store.update('pods', next);
  }

  private writeWaiting(pod: Pod, container: string, reason: string, message: string): void {
    const next = clone(pod);
    const status: PodStatus = next.status ?? {};
    const statuses = (next.spec?.containers ?? []).map((c): ContainerStatus => {
      const waiting = c.name === container ? { reason, message } : { reason: 'ContainerCreating' };
      return {
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting },
      };
    });
    status.containerStatuses = statuses;
    status.conditions = mergeConditions(status.conditions, [
      { type: 'PodReadyToStartContainers', status: 'True' },
      { type: 'Initialized', status: 'True' },
      {
        type: 'Ready',
        status: 'False',
        reason: 'ContainersNotReady',
        message: `containers with unready status: [${container}]`,
      },
      {
        type: 'ContainersReady',
        status: 'False',
        reason: 'ContainersNotReady',
        message: `containers with unready status: [${container}]`,
      },
    ]);
    status.hostIP = '127.0.0.1';
    status.hostIPs = [{ ip: '127.0.0.1' }];
    status.startTime ??= nowTime();
    if (JSON.stringify(status) === JSON.stringify(pod.status)) return;
    next.status = status;
    this.store.update('pods', next);
  }

  private argv(pod: Pod, c: Container, env: Record<string, string>): readonly string[] {
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expandVars(a, env));
    const head = argv[0];
    const mapped =
      head !== undefined && this.options.commands[head]
        ? [...(this.options.commands[head] ?? []), ...argv.slice(1)]
        : argv;
    const ctx: CommandContext = {
      namespace: pod.metadata.namespace ?? '',
      pod: pod.metadata.name ?? '',
      container: c.name,
      image: c.image ?? '',
      env,
    };
    return this.options.mapCommand ? this.options.mapCommand(mapped, ctx) : mapped;
  }

  private start(pod: Pod, run: PodRun, cr: ContainerRun, c: Container, env: Record<string, string>): void {
    const key = podKey(run.namespace, run.name);
    let byContainer = this.logs.get(key);
    if (!byContainer) {
      byContainer = new Map();
      this.logs.set(key, byContainer);
    }
    const prev = byContainer.get(c.name);
    const log = new ContainerLog(this.options.logLimitBytes);
    byContainer.set(c.name, prev && cr.restartCount > 0 ? { current: log, previous: prev.current } : { current: log });
    cr.startedAt = nowTime();
    cr.waiting = undefined;
    const argv = this.argv(pod, c, env);
    const startError = (message: string) => {
      log.finish();
      this.onExit(run, cr, {
        exitCode: 128,
        reason: 'StartError',
        message,
        startedAt: '1970-01-01T00:00:00Z',
        finishedAt: nowTime(),
      });
    };
    const [file, ...args] = argv;
    if (file === undefined) {
      startError(
        "kube-fake: the container has no command: the image's ENTRYPOINT/CMD is not simulated (set command/args, or map it with the `commands` / `mapCommand` option)",
      );
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd: this.options.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      startError(`failed to create containerd task: ${(err as Error).message}`);
      return;
    }
    this.options.debug?.(`kubelet: ${key}/${c.name} started pid ${String(child.pid)}: ${argv.join(' ')}`);
    cr.child = child;
    cr.pid = child.pid;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => log.write('stdout', d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => log.write('stderr', d));
    let done = false;
    const containerID = `kube-fake://${String(child.pid ?? 0)}`;
    child.once('error', (err) => {
      if (done) return;
      done = true;
      cr.child = undefined;
      startError(
        `failed to create containerd task: failed to create shim task: OCI runtime create failed: exec: "${file}": ${err.message}`,
      );
    });
    child.once('close', (code, signal) => {
      if (done) return;
      done = true;
      if (cr.pid !== undefined) killGroup(cr.pid, 'SIGKILL'); // what the container runtime does to leftovers
      cr.child = undefined;
      log.finish();
      const signo = signal ? osConstants.signals[signal] : undefined;
      const exitCode = code ?? 128 + (signo ?? 0);
      this.options.debug?.(`kubelet: ${key}/${c.name} exited ${exitCode}${signal ? ` (${signal})` : ''}`);
      this.onExit(run, cr, {
        exitCode,
        ...(signo !== undefined ? { signal: signo } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: cr.startedAt ?? nowTime(),
        finishedAt: nowTime(),
        containerID,
      });
    });
  }

  private onExit(run: PodRun, cr: ContainerRun, t: Termination): void {
    const pod = this.store.get<Pod>('pods', run.namespace, run.name);
    const policy = pod?.spec?.restartPolicy ?? 'Never';
    const restart =
      !run.terminating &&
      !this.stopped &&
      pod !== undefined &&
      (policy === 'Always' || (policy === 'OnFailure' && t.exitCode !== 0));
    if (restart && pod) {
      cr.last = t;
      cr.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off restarting failed container ${cr.name} in pod ${run.name}`,
      };
      cr.restartTimer = setTimeout(() => {
        cr.restartTimer = undefined;
        const fresh = this.store.get<Pod>('pods', run.namespace, run.name);
        const spec = fresh?.spec?.containers.find((x) => x.name === cr.name);
        if (!fresh || !spec || fresh.metadata.uid !== run.uid || run.terminating || this.stopped) return;
        const env = resolveEnv(fresh, spec, this.store, this.options);
        if ('error' in env) {
          cr.waiting = { reason: 'CreateContainerConfigError', message: env.error };
          this.writeStatus(fresh, run);
          return;
        }
        cr.restartCount++;
        this.start(fresh, run, cr, spec, env.env);
        this.writeStatus(fresh, run);
      }, this.options.restartDelayMs);
    } else {
      cr.exit = t;
    }
    if (this.liveCount(run) === 0 && run.killTimer) {
      clearTimeout(run.killTimer);
      run.killTimer = undefined;
    }
    if (pod && pod.metadata.uid === run.uid) this.writeStatus(pod, run);
    if (
      this.liveCount(run) === 0 &&
      (!pod || pod.metadata.uid !== run.uid || [...run.containers.values()].every((c) => c.exit))
    ) {
      this.forget(run);
    }
    this.enqueue(`pod:${run.namespace}/${run.name}`);
  }

  private cancelRestart(run: PodRun, c: ContainerRun): void {
    if (c.restartTimer) {
      clearTimeout(c.restartTimer);
      c.restartTimer = undefined;
      c.exit = c.last;
    }
    if (this.liveCount(run) === 0 && [...run.containers.values()].every((x) => x.exit || !x.startedAt))
      this.forget(run);
  }

  /** SIGTERM to every container's process group; SIGKILL after `grace` seconds. */
  private terminate(run: PodRun, grace: number): void {
    if (run.terminating) {
      // A shorter grace period (e.g. a force delete) still shortens the wait.
      if (grace < run.grace) {
        run.grace = grace;
        if (run.killTimer) clearTimeout(run.killTimer);
        run.killTimer = undefined;
        this.scheduleKill(run, grace);
      }
      return;
    }
    run.terminating = true;
    run.grace = grace;
    for (const c of run.containers.values()) {
      if (c.restartTimer) {
        clearTimeout(c.restartTimer);
        c.restartTimer = undefined;
        c.exit = c.last;
      }
      if (c.child && c.pid !== undefined) killGroup(c.pid, grace === 0 ? 'SIGKILL' : 'SIGTERM');
    }
    if (grace > 0) this.scheduleKill(run, grace);
  }

  private scheduleKill(run: PodRun, grace: number): void {
    const kill = () => {
      for (const c of run.containers.values()) if (c.child && c.pid !== undefined) killGroup(c.pid, 'SIGKILL');
    };
    if (grace <= 0) kill();
    else run.killTimer = setTimeout(kill, grace * 1000);
  }

  /** Writes the pod status the kubelet derives from its containers' state. */
  private writeStatus(stale: Pod, run: PodRun | undefined, deleting = false): void {
    // Re-read: a synchronous step before this one may have written the pod already.
    const pod = this.store.get<Pod>('pods', stale.metadata.namespace ?? '', stale.metadata.name ?? '');
    if (!pod || pod.metadata.uid !== stale.metadata.uid) return;
    const next = clone(pod);
    next.status = buildStatus(pod, run, deleting || pod.metadata.deletionTimestamp !== undefined);
    if (JSON.stringify(next.status) === JSON.stringify(pod.status)) return;
    this.store.update('pods', next);
  }

  /** Kills every process now (SIGKILL) and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    const waits: Promise<void>[] = [];
    for (const run of [...this.runs.values()]) {
      run.terminating = true;
      for (const c of run.containers.values()) {
        if (c.restartTimer) clearTimeout(c.restartTimer);
        if (c.child && c.pid !== undefined) {
          const child = c.child;
          waits.push(
            new Promise<void>((res) =>
              child.exitCode !== null || child.signalCode !== null ? res() : child.once('close', () => res()),
            ),
          );
          killGroup(c.pid, 'SIGKILL');
        }
      }
      if (run.killTimer) clearTimeout(run.killTimer);
    }
    await Promise.all(waits);
    this.runs.clear();
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
