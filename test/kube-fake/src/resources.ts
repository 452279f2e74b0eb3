/** The resources the fake serves, with what discovery, messages and field selectors need of each. */
import type { KubeObject, Pod, ResourceName } from './types.js';
import { isObject } from './types.js';

/** Static facts about one served resource. */
export interface ResourceInfo {
  resource: ResourceName;
  group: '' | 'batch';
  apiVersion: 'v1' | 'batch/v1';
  kind: 'Job' | 'Pod' | 'Secret' | 'ConfigMap';
  listKind: string;
  singular: string;
  shortNames: string[];
  /** Subresources served at `.../{name}/{sub}`. */
  subresources: string[];
  /** Verbs accepted on the main resource. */
  verbs: string[];
  /** Field labels accepted by fieldSelector (besides metadata.name / metadata.namespace). */
  fields: string[];
}

const STD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** All served resources by plural name. */
export const RESOURCES: Record<ResourceName, ResourceInfo> = {
  jobs: {
    resource: 'jobs',
    group: 'batch',
    apiVersion: 'batch/v1',
    kind: 'Job',
    listKind: 'JobList',
    singular: 'job',
    shortNames: [],
    subresources: ['status'],
    verbs: STD_VERBS,
    fields: ['status.successful'],
  },
  pods: {
    resource: 'pods',
    group: '',
    apiVersion: 'v1',
    kind: 'Pod',
    listKind: 'PodList',
    singular: 'pod',
    shortNames: ['po'],
    subresources: ['status', 'log'],
    verbs: STD_VERBS,
    fields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  },
  secrets: {
    resource: 'secrets',
    group: '',
    apiVersion: 'v1',
    kind: 'Secret',
    listKind: 'SecretList',
    singular: 'secret',
    shortNames: [],
    subresources: [],
    verbs: STD_VERBS,
    fields: ['type'],
  },
  configmaps: {
    resource: 'configmaps',
    group: '',
    apiVersion: 'v1',
    kind: 'ConfigMap',
    listKind: 'ConfigMapList',
    singular: 'configmap',
    shortNames: ['cm'],
    subresources: [],
    verbs: STD_VERBS,
    fields: [],
  },
};

/** Field labels a resource accepts in fieldSelector. */
export function supportedFields(resource: ResourceName): string[] {
  return ['metadata.name', 'metadata.namespace', ...RESOURCES[resource].fields];
}

/** The field-label values of an object, for fieldSelector matching. */
export function fieldsOf(resource: ResourceName, obj: KubeObject): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': obj.metadata.name ?? '',
    'metadata.namespace': obj.metadata.namespace ?? '',
  };
  const body = obj as unknown as Record<string, unknown>;
  if (resource === 'pods') {
    const pod = obj as unknown as Pod;
    fields['spec.nodeName'] = pod.spec?.nodeName ?? '';
    fields['spec.restartPolicy'] = pod.spec?.restartPolicy ?? '';
    fields['spec.schedulerName'] = pod.spec?.schedulerName ?? '';
    fields['spec.serviceAccountName'] = pod.spec?.serviceAccountName ?? '';
    fields['spec.hostNetwork'] = String(pod.spec?.hostNetwork ?? false);
    fields['status.phase'] = pod.status?.phase ?? '';
    fields['status.podIP'] = pod.status?.podIP ?? '';
    fields['status.nominatedNodeName'] = pod.status?.nominatedNodeName ?? '';
  } else if (resource === 'jobs') {
    const status = isObject(body.status) ? body.status : {};
    fields['status.successful'] = String(typeof status.succeeded === 'number' ? status.succeeded : 0);
  } else if (resource === 'secrets') {
    fields.type = typeof body.type === 'string' ? body.type : '';
  }
  return fields;
}

/** metav1.APIResourceList for discovery (`GET /api/v1`, `GET /apis/batch/v1`). */
export function apiResourceList(groupVersion: 'v1' | 'batch/v1'): Record<string, unknown> {
  const resources: Record<string, unknown>[] = [];
  for (const r of Object.values(RESOURCES)) {
    if (r.apiVersion !== groupVersion) continue;
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: true,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    });
    for (const sub of r.subresources)
      resources.push({
        name: `${r.resource}/${sub}`,
        singularName: '',
        namespaced: true,
        kind: sub === 'log' ? 'Pod' : r.kind,
        verbs: sub === 'log' ? ['get'] : ['get', 'patch', 'update'],
      });
  }
  if (groupVersion === 'v1')
    resources.push({
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['get', 'list'],
      shortNames: ['ns'],
    });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}
