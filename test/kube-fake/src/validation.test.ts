import { describe, expect, it } from '@jest/globals';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { parseQuantity } from './quantity.js';
import { isDns1123Label, isEnvVarName, isLabelValue, isQualifiedName } from './names.js';
import { fieldPathFromPointer, validateSchema } from './validation.js';

describe('name syntax (k8s.io/apimachinery/pkg/util/validation)', () => {
  it('checks DNS-1123 labels, label values, qualified names and env var names', () => {
    expect(isDns1123Label('trial-1')).toEqual([]);
    expect(isDns1123Label('Trial_1')).toHaveLength(1);
    expect(isDns1123Label('a'.repeat(64))).toContain('must be no more than 63 characters');
    expect(isLabelValue('')).toEqual([]);
    expect(isLabelValue('My_value.1')).toEqual([]);
    expect(isLabelValue('-x')).toHaveLength(1);
    expect(isQualifiedName('batch.kubernetes.io/job-name')).toEqual([]);
    expect(isQualifiedName('bad key')).toHaveLength(1);
    expect(isQualifiedName('a/b/c')).toHaveLength(1);
    expect(isEnvVarName('MY_ENV.name-1')).toEqual([]);
    expect(isEnvVarName('1ABC')).toHaveLength(1);
  });
});

describe('quantities', () => {
  it('parses decimal, binary and exponent suffixes', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('2k')).toBe(2000);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('lots')).toBeUndefined();
    expect(parseQuantity('1 Gi')).toBeUndefined();
  });
});

describe('schema validation (kubernetes-models)', () => {
  it('reports schema violations with Kubernetes field paths', () => {
    const errors = validateSchema('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 3, env: [{ name: 'A', value: 1 }] }] },
    });
    expect(errors.map((e) => e.field).sort()).toEqual(['spec.containers[0].env[0].value', 'spec.containers[0].image']);
    expect(fieldPathFromPointer('/metadata/labels/a~1b')).toBe('metadata.labels[a/b]');
  });
});

describe('patches', () => {
  const doc = {
    spec: {
      suspend: true,
      containers: [
        { name: 'a', image: 'x' },
        { name: 'b', image: 'y' },
      ],
    },
  };
  it('applies JSON Patch (RFC 6902) including test failures', () => {
    expect(applyJsonPatch(doc, [{ op: 'replace', path: '/spec/suspend', value: false }])).toMatchObject({
      spec: { suspend: false },
    });
    expect(applyJsonPatch(doc, [{ op: 'add', path: '/spec/containers/-', value: { name: 'c' } }]).spec).toMatchObject({
      containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
    });
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/spec/suspend', value: false }])).toThrow('test failed');
  });
  it('merges lists by key in a strategic merge patch but replaces them in a merge patch', () => {
    const patch = { spec: { containers: [{ name: 'b', image: 'z' }] } };
    expect(applyStrategicMergePatch(doc, patch)).toEqual({
      spec: {
        suspend: true,
        containers: [
          { name: 'a', image: 'x' },
          { name: 'b', image: 'z' },
        ],
      },
    });
    expect(applyMergePatch(doc, patch)).toEqual({ spec: { suspend: true, containers: [{ name: 'b', image: 'z' }] } });
    expect(applyMergePatch(doc, { spec: { suspend: null } })).toEqual({ spec: { containers: doc.spec.containers } });
  });
});
