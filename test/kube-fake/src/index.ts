/**
 * @fersweep/kube-fake — test-only. A fake kube-apiserver speaking the real REST + watch protocol
 * to @kubernetes/client-node, with a job controller, garbage collector and a kubelet simulator
 * that runs each Job's container command as a local process. See README.md for what is covered.
 */
export { startFakeKube } from './fake-kube.js';
export type { FakeKube, FakeKubeOptions, WaitOptions } from './fake-kube.js';
export type { FaultSpec, RecordedRequest, Verb } from './http.js';
export type { CommandContext, RunningProcess } from './kubelet.js';
export type { KubeStatus, StatusCause, StatusDetails, StatusReason } from './status.js';
export { JOB_ORPHAN_WARNING } from './api.js';
/** The server's strategic merge patch, also what test/chart uses to build kustomize overlays without kubectl. */
export { applyStrategicMergePatch } from './patch.js';
export type { ConfigMap, Job, Pod, ResourceName, Secret } from './types.js';
