import { describe, expect, it } from '@jest/globals';
import { NATS } from '@fersweep/contracts';
import { parseServers, redactUrl, resolveConsume } from './codec.js';
import { assertSubjectFilter, subjectIsSubset, subjectMatches } from './subjects.js';

describe('NATS subject rules', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.*.c', 'a.b.c', true],
    ['a.*', 'a.b.c', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b.>', 'a.b', false],
    ['*.b.>', 'x.b.c.d', true],
    ['>', 'anything.at.all', true],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b', false],
  ])('filter %s on %s → %s', (filter, subject, expected) => {
    expect(subjectMatches(filter, subject)).toBe(expected);
  });

  it('tells whether a filter lies inside the trial stream', () => {
    const stream = NATS.trialSubjects;
    expect(subjectIsSubset(NATS.sweepSubjects('s1'), stream)).toBe(true);
    expect(subjectIsSubset('fersweep.trials.*.*.trial_epoch', stream)).toBe(true);
    expect(subjectIsSubset(stream, stream)).toBe(true);
    expect(subjectIsSubset('fersweep.trials', stream)).toBe(false);
    expect(subjectIsSubset('fersweep.*.x', stream)).toBe(false);
    expect(subjectIsSubset('fersweep.>', stream)).toBe(false);
    expect(subjectIsSubset('a.b', 'a.*')).toBe(true);
    expect(subjectIsSubset('a.*', 'a.b')).toBe(false);
  });

  it('refuses malformed filters', () => {
    for (const bad of ['', 'a..b', 'a.>.b', 'a b', '.a', 'a.'])
      expect(() => assertSubjectFilter(bad)).toThrow(/invalid subject filter/);
    expect(() => assertSubjectFilter('a.*.>')).not.toThrow();
  });
});

describe('consume options', () => {
  it('fills in defaults and refuses what JetStream would', () => {
    expect(resolveConsume({ durable: 'evaluator' })).toEqual({
      durable: 'evaluator',
      filter: NATS.trialSubjects,
      deliverFrom: 'all',
      maxInFlight: 64,
      ackWaitMs: 30_000,
      maxDeliver: 10,
    });
    expect(() => resolveConsume({ durable: 'e', maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => resolveConsume({ durable: 'e', ackWaitMs: 1.5 })).toThrow(/ackWaitMs/);
  });
});

describe('redactUrl', () => {
  it('removes credentials from every server of a list', () => {
    expect(redactUrl('nats://u:p@a:4222, tls://token@b:4222,nats://c:4222')).toBe(
      'nats://a:4222,tls://b:4222,nats://c:4222',
    );
  });
});

describe('parseServers', () => {
  it('moves URL credentials into options', () => {
    expect(parseServers('nats://u%40x:p%3Aw@a:4222, nats://b:4222')).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
      user: 'u@x',
      pass: 'p:w',
    });
    expect(parseServers('tls://t0ken@a:4222')).toEqual({ servers: ['tls://a:4222'], token: 't0ken' });
    expect(parseServers('127.0.0.1:4222')).toEqual({ servers: ['127.0.0.1:4222'] });
  });
});
