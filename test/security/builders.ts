/** Builders of the hostile requests (cases.ts, cases-policy.ts). */
import fc from 'fast-check';
import type { Probe } from './harness.js';

/** One case: what it tries, and the request with its expected refusal. */
export type Case = [string, Probe];

export const json = (v: unknown) => JSON.stringify(v);
export const post = (
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Omit<Probe, 'status' | 'code'> => ({
  method: 'POST',
  path: '/v1/sweeps',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});
export const submit = (spec: unknown, status: number, code: string, field?: string): Probe => ({
  ...post(json(spec)),
  status,
  code,
  ...(field !== undefined ? { field } : {}),
});
export const sample = <T>(arb: fc.Arbitrary<T>, seed: number, n: number): T[] =>
  [...new Map(fc.sample(arb, { seed, numRuns: n * 3 }).map((v) => [JSON.stringify(v), v])).values()].slice(0, n);
