import { describe, expect, it } from '@jest/globals';
import { KubeApiError } from './status.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';

describe('label selectors', () => {
  const labels = { app: 'sweep', trial: 'b', tier: '3' };
  const match = (s: string) => matchesLabels(parseLabelSelector(s), labels);

  it('matches equality, set-based, existence and numeric requirements like labels.Parse', () => {
    expect(match('')).toBe(true);
    expect(match('app=sweep')).toBe(true);
    expect(match('app==sweep,trial!=a')).toBe(true);
    expect(match('trial in (a, b),app notin (x)')).toBe(true);
    expect(match('trial in (a,c)')).toBe(false);
    expect(match('app,!skip')).toBe(true);
    expect(match('!app')).toBe(false);
    expect(match('missing!=x,missing notin (y)')).toBe(true);
    expect(match('tier>2,tier<4')).toBe(true);
  });

  it('rejects selectors that do not parse with 400 BadRequest', () => {
    for (const bad of ['app in a', 'app in (a', 'a b', 'bad key=x', '=x', 'app=x y', 'app=(']) {
      let caught: unknown;
      try {
        parseLabelSelector(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(KubeApiError);
      expect(caught).toMatchObject({ code: 400, reason: 'BadRequest' });
    }
  });
});

describe('field selectors', () => {
  it('matches = == != and rejects unsupported fields', () => {
    const fields = { 'metadata.name': 'a,b', 'status.phase': 'Running' };
    const reqs = parseFieldSelector('metadata.name=a\\,b,status.phase!=Failed', ['metadata.name', 'status.phase']);
    expect(matchesFields(reqs, fields)).toBe(true);
    expect(() => parseFieldSelector('spec.foo=x', ['metadata.name'])).toThrow('field label not supported: spec.foo');
  });
});
