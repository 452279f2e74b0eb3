/** Pod status from the kubelet's runs: phase, conditions and containerStatuses as the real kubelet reports them. */
import type { ChildProcess } from 'node:child_process';
import { qosClass } from './defaults.js';
import type { ContainerStatus, Pod, PodCondition, PodStatus } from './types.js';
import { nowTime } from './types.js';

export interface Termination {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt: string;
  containerID?: string;
}

export interface ContainerRun {
  name: string;
  child?: ChildProcess;
  pid?: number;
  startedAt?: string;
  restartCount: number;
  /** Final termination (no restart coming). */
  exit?: Termination;
  /** Previous termination when the container was restarted. */
  last?: Termination;
  /** Waiting state to report (ContainerCreating, CreateContainerConfigError, CrashLoopBackOff). */
  waiting?: { reason: string; message?: string };
  restartTimer?: NodeJS.Timeout;
}

export interface PodRun {
  uid: string;
  namespace: string;
  name: string;
  containers: Map<string, ContainerRun>;
  terminating: boolean;
  grace: number;
  killTimer?: NodeJS.Timeout;
}

/** Merges conditions by type, keeping lastTransitionTime when a condition's status did not change. */
export function mergeConditions(
  current: PodCondition[] | undefined,
  updates: Array<Omit<PodCondition, 'lastTransitionTime'>>,
): PodCondition[] {
  const out = (current ?? []).map((c) => ({ ...c }));
  for (const u of updates) {
    const i = out.findIndex((c) => c.type === u.type);
    const existing = i >= 0 ? out[i] : undefined;
    const cond: PodCondition = {
      ...u,
      lastTransitionTime:
        existing && existing.status === u.status ? (existing.lastTransitionTime ?? nowTime()) : nowTime(),
    };
    if (!u.reason) delete cond.reason;
    if (!u.message) delete cond.message;
    if (i >= 0) out[i] = cond;
    else out.push(cond);
  }
  return out;
}

function terminatedState(t: Termination) {
  const s: Record<string, unknown> = { exitCode: t.exitCode, reason: t.reason, finishedAt: t.finishedAt };
  if (t.signal !== undefined) s.signal = t.signal;
  if (t.message) s.message = t.message;
  if (t.startedAt) s.startedAt = t.startedAt;
  if (t.containerID) s.containerID = t.containerID;
  return s as unknown as NonNullable<NonNullable<ContainerStatus['state']>['terminated']>;
}

/** The status the kubelet reports for a pod given its containers' run state. */
export function buildStatus(pod: Pod, run: PodRun | undefined, deleting: boolean): PodStatus {
  const prev = pod.status ?? {};
  const specContainers = pod.spec?.containers ?? [];
  const statuses: ContainerStatus[] = specContainers.map((c) => {
    const cr = run?.containers.get(c.name);
    const base = {
      name: c.name,
      image: c.image ?? '',
      imageID: c.image ? `${c.image}@sha256:${'0'.repeat(64)}` : '',
      restartCount: cr?.restartCount ?? 0,
    };
    const lastState = cr?.last ? { terminated: terminatedState(cr.last) } : {};
    if (cr?.child && cr.startedAt)
      return {
        ...base,
        containerID: `kube-fake://${String(cr.pid ?? 0)}`,
        ready: !run?.terminating,
        started: true,
        state: { running: { startedAt: cr.startedAt } },
        lastState,
      };
    if (cr?.exit)
      return {
        ...base,
        ...(cr.exit.containerID ? { containerID: cr.exit.containerID } : {}),
        ready: false,
        started: false,
        state: { terminated: terminatedState(cr.exit) },
        lastState,
      };
    const waiting = cr?.waiting ?? { reason: 'ContainerCreating' };
    return { ...base, ready: false, started: false, state: { waiting }, lastState };
  });
  const all = run ? [...run.containers.values()] : [];
  const finished = run !== undefined && all.length > 0 && all.every((c) => c.exit !== undefined);
  const anyStarted = all.some((c) => c.startedAt !== undefined);
  let phase: PodStatus['phase'];
  if (finished) phase = all.every((c) => c.exit?.exitCode === 0) ? 'Succeeded' : 'Failed';
  else if (deleting && !all.some((c) => c.child !== undefined || c.restartTimer !== undefined)) phase = 'Failed';
  else if (anyStarted) phase = 'Running';
  else phase = 'Pending';
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const allReady = !terminal && statuses.length > 0 && statuses.every((s) => s.ready);
  const notReady = statuses.filter((s) => !s.ready).map((s) => s.name);
  const readyCond = (type: 'Ready' | 'ContainersReady') =>
    allReady
      ? { type, status: 'True' }
      : terminal
        ? { type, status: 'False', reason: phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed' }
        : {
            type,
            status: 'False',
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${notReady.join(' ')}]`,
          };
  const conditions = mergeConditions(prev.conditions, [
    { type: 'PodReadyToStartContainers', status: terminal ? 'False' : 'True' },
    { type: 'Initialized', status: 'True' },
    readyCond('Ready'),
    readyCond('ContainersReady'),
    { type: 'PodScheduled', status: 'True' },
  ]);
  const status: PodStatus = {
    ...prev,
    phase,
    conditions,
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: '127.0.0.1',
    podIPs: [{ ip: '127.0.0.1' }],
    startTime: prev.startTime ?? nowTime(),
    containerStatuses: statuses,
    qosClass: prev.qosClass ?? (pod.spec ? qosClass(pod.spec) : 'BestEffort'),
  };
  return status;
}
