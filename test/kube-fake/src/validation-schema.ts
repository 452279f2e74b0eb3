/** Validation against the Kubernetes OpenAPI schema (kubernetes-models `.validate()`), with the API server's field paths. */
import { Job as JobModel } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap as ConfigMapModel } from 'kubernetes-models/v1/ConfigMap';
import { Pod as PodModel } from 'kubernetes-models/v1/Pod';
import { Secret as SecretModel } from 'kubernetes-models/v1/Secret';
import { fieldError, type FieldError } from './status.js';
import type { ResourceName } from './types.js';
import { isObject } from './types.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const isAjvError = (e: unknown): e is AjvError =>
  isObject(e) && typeof e.instancePath === 'string' && typeof e.keyword === 'string' && isObject(e.params);

/** Fields whose value is a map: the next path segment is a key, written `[key]`. */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'matchLabels',
  'nodeSelector',
  'limits',
  'requests',
  'data',
  'binaryData',
  'stringData',
]);

/** `/spec/template/spec/containers/0/resources/limits/cpu` → `spec.template.spec.containers[0].resources.limits[cpu]`. */
export function fieldPathFromPointer(pointer: string): string {
  let out = '';
  let prev = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg) || MAP_FIELDS.has(prev)) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
    prev = seg;
  }
  return out;
}

function valueAt(obj: unknown, pointer: string): unknown {
  let cur = obj;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObject(cur)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

const QUANTITY_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const KEYWORD_RANK: Record<string, number> = { required: 0, enum: 1, format: 2, type: 3 };

/** Converts kubernetes-models (ajv) errors to field errors, one per field, the most telling kept. */
function schemaFieldErrors(obj: unknown, errors: readonly AjvError[]): FieldError[] {
  const byPath = new Map<string, AjvError>();
  for (const e of errors) {
    const p = e.keyword === 'required' ? `${e.instancePath}/${String(e.params.missingProperty)}` : e.instancePath;
    const prev = byPath.get(p);
    if (!prev || (KEYWORD_RANK[e.keyword] ?? 9) < (KEYWORD_RANK[prev.keyword] ?? 9)) byPath.set(p, e);
  }
  const out: FieldError[] = [];
  for (const [pointer, e] of byPath) {
    const path = fieldPathFromPointer(pointer);
    const value = valueAt(obj, pointer);
    if (e.keyword === 'required') out.push(fieldError.required(path));
    else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues))
      out.push(fieldError.notSupported(path, value, e.params.allowedValues.map(String)));
    else if (e.keyword === 'format' && e.params.format === 'quantity')
      out.push(fieldError.invalid(path, value, QUANTITY_MESSAGE));
    else out.push(fieldError.invalid(path, value, e.message ?? `failed ${e.keyword} validation`));
  }
  return out;
}

type ModelCtor = new (data: never) => { validate(): void };
const MODELS: Record<ResourceName, ModelCtor> = {
  jobs: JobModel as unknown as ModelCtor,
  pods: PodModel as unknown as ModelCtor,
  secrets: SecretModel as unknown as ModelCtor,
  configmaps: ConfigMapModel as unknown as ModelCtor,
};

/** Checks an object against the Kubernetes OpenAPI schema of its kind. */
export function validateSchema(resource: ResourceName, obj: unknown): FieldError[] {
  const Model = MODELS[resource];
  try {
    new Model(obj as never).validate();
    return [];
  } catch (err) {
    const errors = isObject(err) && Array.isArray(err.errors) ? err.errors.filter(isAjvError) : [];
    if (errors.length === 0) return [fieldError.invalidOmitValue('', String(err))];
    return schemaFieldErrors(obj, errors);
  }
}
