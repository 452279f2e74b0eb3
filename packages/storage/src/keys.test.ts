import { describe, expect, it } from '@jest/globals';
import { compareKeys, joinKey, normalizeMetadata, validateKey } from './keys.js';

describe('joinKey', () => {
  it('joins parts with single slashes and drops empty parts', () => {
    expect(joinKey('sweeps/', 's1', '/trials/', 't1/', 'model.json')).toBe('sweeps/s1/trials/t1/model.json');
    expect(joinKey('', 'a', '')).toBe('a');
    expect(joinKey()).toBe('');
  });
});

describe('compareKeys', () => {
  it('orders by UTF-8 bytes, as S3 lists', () => {
    const keys = ['\u{1F600}', '\uFF01', 'a/b', 'a-b', 'a0', 'B', 'é'];
    const byUtf8 = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(byUtf8);
    // Plain UTF-16 order would put the emoji (a surrogate pair) before U+FF01.
    expect(byUtf8.slice(-2)).toEqual(['\uFF01', '\u{1F600}']);
  });
});

describe('validateKey', () => {
  it('accepts ordinary keys, including dots inside names and unicode', () => {
    for (const key of ['manifest.json', 'datasets/fer2013/shards/train-00000.arrow', '.hidden', 'a..b', 'é/ü']) {
      expect(validateKey(key)).toBe(key);
    }
  });
});

describe('normalizeMetadata', () => {
  it('lowercases names and drops empty metadata', () => {
    expect(normalizeMetadata({ Sha256: 'x', 'Run-Id': 'r1' })).toEqual({ sha256: 'x', 'run-id': 'r1' });
    expect(normalizeMetadata({})).toBeUndefined();
    expect(normalizeMetadata(undefined)).toBeUndefined();
  });
});
