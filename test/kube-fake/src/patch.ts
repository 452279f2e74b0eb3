/**
 * The three PATCH bodies client-node can send: JSON Patch (RFC 6902, client-node 1.x's default
 * Content-Type for patch calls), JSON Merge Patch (RFC 7386) and strategic merge patch (merge
 * patch, except that the lists Kubernetes declares with a patch merge key are merged by that key
 * and `$patch: delete|replace` directives are honoured). Server-side apply is not supported.
 */
import { badRequest } from './status.js';
import type { JsonObject } from './types.js';
import { clone, isObject } from './types.js';

/** Media types accepted for PATCH. */
export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

function decodePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/'))
    throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = JsonObject | unknown[];

function resolveParent(doc: unknown, tokens: string[], op: string): { parent: Container; last: string } {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw badRequest(`doc is missing path: "/${tokens.join('/')}": missing value (${op})`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw badRequest(`doc is missing path: "/${tokens.join('/')}" (${op})`);
  return { parent: cur, last: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, tokens: string[]): unknown {
  let cur: unknown = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^\d+$/.test(token)) throw badRequest(`invalid array index ${token}`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i >= arr.length)) throw badRequest(`array index ${i} out of bounds`);
  return i;
}

/** Applies an RFC 6902 JSON Patch; returns a new document. */
export function applyJsonPatch(target: JsonObject, ops: unknown): JsonObject {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a JSON array of operations');
  let doc: unknown = clone(target);
  const add = (path: string, value: unknown) => {
    const tokens = decodePointer(path);
    if (tokens.length === 0) {
      doc = clone(value);
      return;
    }
    const { parent, last } = resolveParent(doc, tokens, 'add');
    if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, clone(value));
    else parent[last] = clone(value);
  };
  const remove = (path: string): unknown => {
    const tokens = decodePointer(path);
    const { parent, last } = resolveParent(doc, tokens, 'remove');
    if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
    if (!(last in parent)) throw badRequest(`doc is missing key: ${path}: missing value`);
    const v = parent[last];
    delete parent[last];
    return v;
  };
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw badRequest('json patch operations need "op" and "path"');
    switch (op.op) {
      case 'add':
        add(op.path, op.value);
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'replace': {
        const tokens = decodePointer(op.path);
        if (tokens.length === 0) {
          doc = clone(op.value);
          break;
        }
        const { parent, last } = resolveParent(doc, tokens, 'replace');
        if (Array.isArray(parent)) parent[arrayIndex(parent, last, false)] = clone(op.value);
        else {
          if (!(last in parent)) throw badRequest(`doc is missing key: ${op.path}: missing value`);
          parent[last] = clone(op.value);
        }
        break;
      }
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw badRequest(`json patch ${op.op} needs "from"`);
        const value = op.op === 'move' ? remove(op.from) : clone(getAt(doc, decodePointer(op.from)));
        if (value === undefined) throw badRequest(`doc is missing from path: ${op.from}`);
        add(op.path, value);
        break;
      }
      case 'test': {
        const actual = getAt(doc, decodePointer(op.path));
        if (JSON.stringify(actual) !== JSON.stringify(op.value))
          throw new PatchTestFailed(`testing value ${op.path} failed: test failed`);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  if (!isObject(doc)) throw badRequest('json patch result is not an object');
  return doc;
}

/** A failed JSON Patch `test` operation (the server answers 422 Invalid). */
export class PatchTestFailed extends Error {
  override readonly name = 'PatchTestFailed';
}

/** Applies an RFC 7386 JSON Merge Patch; returns a new document. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** Lists merged by key in a strategic merge patch: field name → patch merge key. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  conditions: 'type',
  ownerReferences: 'uid',
  imagePullSecrets: 'name',
  tolerations: 'key',
  containerStatuses: 'name',
};

/** Applies a strategic merge patch (see the module comment for what is honoured). */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return clone(rest);
  }
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const mergeKey = MERGE_KEYS[k];
    if (Array.isArray(v) && mergeKey && Array.isArray(out[k])) {
      out[k] = mergeKeyedList(out[k] as unknown[], v, mergeKey);
    } else if (Array.isArray(v) && k === 'finalizers' && Array.isArray(out[k])) {
      const merged = [...(out[k] as unknown[])];
      for (const f of v) if (!merged.includes(f)) merged.push(f);
      out[k] = merged;
    } else out[k] = applyStrategicMergePatch(out[k], v);
  }
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith('$deleteFromPrimitiveList/') || !Array.isArray(v)) continue;
    const field = k.slice('$deleteFromPrimitiveList/'.length);
    const list = out[field];
    if (Array.isArray(list)) out[field] = list.filter((x) => !v.includes(x));
  }
  return out;
}

function mergeKeyedList(current: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const out = clone(current);
  for (const item of patch) {
    if (!isObject(item) || !(mergeKey in item)) {
      out.push(clone(item));
      continue;
    }
    const idx = out.findIndex((x) => isObject(x) && x[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) out[idx] = applyStrategicMergePatch(out[idx], item);
    else out.push(applyStrategicMergePatch({}, item));
  }
  return out;
}
