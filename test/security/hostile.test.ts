/**
 * Hostile input against a live coordinator and evaluator over HTTP (issue 12): each case asserts its
 * status and stable code, that both servers stay healthy, and that nothing was stored or started —
 * then the tenant, concurrency and prototype checks that need more than one request.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  authCases,
  bodyCases,
  crossTenantCases,
  nameCases,
  numericCases,
  policyCases,
  propertyCases,
  urlCases,
  type Case,
} from './cases.js';
import { acmeSpec, probe, startWorld, TOKENS, type World } from './harness.js';

let w: World;
const tally = { tried: 0, passed: 0 };

beforeAll(async () => {
  w = await startWorld();
  // The sweep other tenants probe for: acme's, running (its trainer sleeps).
  const res = await send(TOKENS.acme, acmeSpec('acme-secret'));
  expect(res.status).toBe(201);
}, 60_000);
afterAll(async () => {
  await w?.stop();
  // The counts the note asks for.
  console.log(`test/security: hostile cases tried ${tally.tried}, passed ${tally.passed}`);
});

function send(token: string, spec: unknown) {
  return fetch(`${w.api}/v1/sweeps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
}

const table = (name: string, cases: Case[]) =>
  describe(name, () => {
    it.each(cases)('%s', async (_what, p) => {
      tally.tried++;
      await probe(w, p);
      tally.passed++;
    });
  });

table('auth', authCases());
table('encodings, sizes, nesting, YAML', bodyCases());
table('names', nameCases());
table('numeric bounds and resource limits', numericCases());
table('URL schemes and addresses', urlCases());
table('scheduling policy', policyCases());
table('property names', propertyCases());
table('cross-tenant access', crossTenantCases());

describe('state-changing hostile requests', () => {
  it('leaves Object.prototype alone after every __proto__ / constructor case', () => {
    tally.tried++;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    tally.passed++;
  });

  it("serves acme its own sweep (the cross-tenant cases' control)", async () => {
    tally.tried++;
    const mine = await fetch(`${w.api}/v1/sweeps/acme-secret`, { headers: { authorization: `Bearer ${TOKENS.acme}` } });
    expect(mine.status).toBe(200);
    const report = await fetch(`${w.evaluatorUrl}/v1/sweeps/acme-secret/report`, {
      headers: { authorization: `Bearer ${TOKENS.acme}` },
    });
    expect(report.status).toBe(200);
    const beta = (await (
      await fetch(`${w.api}/v1/sweeps`, { headers: { authorization: `Bearer ${TOKENS.beta}` } })
    ).json()) as { items: { id: string }[] };
    expect(beta.items.map((s) => s.id)).not.toContain('acme-secret');
    tally.passed++;
  });

  it('creates one sweep from ten concurrent identical submits (one 201, nine 200)', async () => {
    tally.tried++;
    const statuses = (
      await Promise.all(Array.from({ length: 10 }, () => send(TOKENS.acme, acmeSpec('same-twice'))))
    ).map((r) => r.status);
    expect(statuses.sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    tally.passed++;
  });

  it('keeps the first of ten concurrent different specs under one name; the rest are 409 Conflict', async () => {
    tally.tried++;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => send(TOKENS.acme, acmeSpec('contested', { seed: i }))),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409))
      expect(((await r.json()) as { code: string }).code).toBe('Conflict');
    // One sweep record and one trial record: what a single submit writes.
    const keys: string[] = [];
    for await (const k of w.coordinator.scheduler.state.kv.keys('')) if (k.includes('contested')) keys.push(k);
    expect([...new Set(keys)].filter((k) => /^(sweeps|trials)\./.test(k)).sort()).toEqual([
      'sweeps.contested--acme',
      'trials.contested--acme.cnn',
    ]);
    tally.passed++;
  });

  it('lets two tenants submit the same name at the same moment', async () => {
    tally.tried++;
    const [a, b] = await Promise.all([
      send(TOKENS.acme, acmeSpec('both-at-once')),
      send(TOKENS.beta, {
        ...acmeSpec('both-at-once'),
        spec: { ...acmeSpec('x').spec, dataset: 's3://fer-data/beta/x', queueName: undefined },
      }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    tally.passed++;
  });
});
