/**
 * The hostile requests of test/security: hand-written tables and fast-check samples with fixed
 * seeds (the same cases on every run). Each case is one refused request with its status and
 * stable code; `hostile.test.ts` sends it and checks that nothing was stored or started.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { json, post, sample, submit, type Case } from './builders.js';
import { acmeSpec, TOKENS, type Probe } from './harness.js';

export { crossTenantCases, policyCases, propertyCases, urlCases } from './cases-policy.js';
export type { Case };

/** Auth: every guarded route of both servers refuses every malformed or foreign credential. */
export function authCases(): Case[] {
  const routes: [Probe['target'], string, string][] = [
    ['coordinator', 'POST', '/v1/sweeps'],
    ['coordinator', 'GET', '/v1/sweeps'],
    ['coordinator', 'GET', '/v1/sweeps/acme-secret'],
    ['coordinator', 'DELETE', '/v1/sweeps/acme-secret'],
    ['coordinator', 'GET', '/v1/sweeps/acme-secret/report'],
    ['coordinator', 'GET', '/v1/sweeps/acme-secret/trials/cnn/logs'],
    ['coordinator', 'GET', '/sweeps/acme-secret'],
    ['evaluator', 'GET', '/v1/sweeps'],
    ['evaluator', 'GET', '/v1/sweeps/acme-secret/report'],
    ['evaluator', 'POST', '/v1/sweeps/acme-secret/finalize'],
    ['evaluator', 'GET', '/sweeps/acme-secret'],
  ];
  const stored = createHash('sha256').update(TOKENS.acme).digest('hex');
  const headers: [string, string | null][] = [
    ['no header', null],
    ['a wrong token', 'Bearer wrong'],
    ['the token plus a character', `Bearer ${TOKENS.acme}x`],
    ['the token less a character', `Bearer ${TOKENS.acme.slice(0, -1)}`],
    ['the stored sha256 as token', `Bearer ${stored}`],
    ['Basic auth', `Basic ${Buffer.from(`acme:${TOKENS.acme}`).toString('base64')}`],
    ['the token without Bearer', TOKENS.acme],
    ['two tokens', `Bearer ${TOKENS.acme} ${TOKENS.beta}`],
    ['an 8 KB token', `Bearer ${'a'.repeat(8192)}`],
    ['an empty Bearer', 'Bearer '],
  ];
  const out: Case[] = [];
  for (const [target, method, path] of routes)
    for (const [what, header] of headers)
      out.push([
        `auth: ${target} ${method} ${path} with ${what}`,
        {
          target,
          method,
          path,
          ...(method === 'POST' && target === 'coordinator' ? post(json(acmeSpec('auth-probe'))) : {}),
          ...(header === null ? { token: null } : { headers: { authorization: header } }),
          status: 401,
          code: 'Unauthorized',
        },
      ]);
  return out;
}

/** Encodings, media types, malformed JSON, sizes, nesting and YAML tricks. */
export function bodyCases(): Case[] {
  const ok = json(acmeSpec('body-probe'));
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const inParams = (n: number) => ok.replace('"params":{}', `"params":{"x":${deep(n)}}`);
  const yaml = (text: string) => post(text, { 'content-type': 'application/yaml' });
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    .concat(
      'bcdefghi'.split('').map((c, i) => {
        const prev = 'abcdefghi'[i]!;
        return `${c}: &${c} [${Array(9).fill(`*${prev}`).join(',')}]`;
      }),
    )
    .join('\n');
  return [
    [
      'gzip header on a plain body',
      { ...post(ok, { 'content-encoding': 'gzip' }), status: 400, code: 'InvalidEncoding' },
    ],
    [
      'deflate header on a plain body',
      { ...post(ok, { 'content-encoding': 'deflate' }), status: 400, code: 'InvalidEncoding' },
    ],
    ['br header on a plain body', { ...post(ok, { 'content-encoding': 'br' }), status: 400, code: 'InvalidEncoding' }],
    [
      'gzip of garbage',
      {
        ...post(gzipSync('{"x":').subarray(0, 12), { 'content-encoding': 'gzip' }),
        status: 400,
        code: 'InvalidEncoding',
      },
    ],
    [
      'an unknown Content-Encoding',
      { ...post(ok, { 'content-encoding': 'xz' }), status: 415, code: 'UnsupportedEncoding' },
    ],
    [
      'a Content-Encoding list',
      { ...post(ok, { 'content-encoding': 'gzip, zstd' }), status: 415, code: 'UnsupportedEncoding' },
    ],
    [
      // body-parser decodes utf-16 (iconv-lite): a UTF-8 body declared utf-16 is then not JSON.
      'charset utf-16 on a UTF-8 body',
      { ...post(ok, { 'content-type': 'application/json; charset=utf-16' }), status: 400, code: 'InvalidJson' },
    ],
    [
      'charset koi8-r',
      { ...post(ok, { 'content-type': 'application/json; charset=koi8-r' }), status: 415, code: 'UnsupportedCharset' },
    ],
    ['text/plain', { ...post(ok, { 'content-type': 'text/plain' }), status: 415, code: 'UnsupportedMediaType' }],
    [
      'form-urlencoded',
      {
        ...post('a=1', { 'content-type': 'application/x-www-form-urlencoded' }),
        status: 415,
        code: 'UnsupportedMediaType',
      },
    ],
    [
      'multipart',
      { ...post(ok, { 'content-type': 'multipart/form-data; boundary=x' }), status: 415, code: 'UnsupportedMediaType' },
    ],
    ['no body', { method: 'POST', path: '/v1/sweeps', status: 415, code: 'UnsupportedMediaType' }],
    ['truncated JSON', { ...post(ok.slice(0, -3)), status: 400, code: 'InvalidJson' }],
    ['JSON with a trailing comma', { ...post('{"a":1,}'), status: 400, code: 'InvalidJson' }],
    ['a JSON string', { ...post('"sweep"'), status: 400, code: 'InvalidJson' }],
    ['JSON null', { ...post('null'), status: 400, code: 'InvalidJson' }],
    ['NaN in JSON', { ...post('{"apiVersion":NaN}'), status: 400, code: 'InvalidJson' }],
    ['a JSON array', { ...post('[]'), status: 422, code: 'InvalidSpec' }],
    ['an empty object', { ...post('{}'), status: 422, code: 'InvalidSpec' }],
    [
      'a 2 MB body',
      {
        ...post(ok.replace('"params":{}', `"params":{"x":"${'x'.repeat(2 << 20)}"}`)),
        status: 413,
        code: 'PayloadTooLarge',
      },
    ],
    [
      'a 300 KB flat YAML mapping (YAML is limited to 256 KiB: a 1 MB one parsed for ~8 s)',
      {
        ...yaml(Array.from({ length: 30_000 }, (_, i) => `k${i}: v`).join('\n')),
        status: 413,
        code: 'PayloadTooLarge',
      },
    ],
    [
      '1000 variants',
      {
        ...post(
          json(
            acmeSpec('many', { variants: Array.from({ length: 1000 }, (_, i) => ({ name: `v${i}`, model: 'cnn' })) }),
          ),
        ),
        status: 422,
        code: 'TooManyTrials',
      },
    ],
    [
      'a 500 KB name',
      { ...post(json(acmeSpec('n'.repeat(500_000)))), status: 422, code: 'InvalidSpec', field: 'metadata.name' },
    ],
    ['params nested 65 deep', { ...post(inParams(65)), status: 400, code: 'TooDeep' }],
    ['params nested 10,000 deep', { ...post(inParams(10_000)), status: 400, code: 'TooDeep' }],
    ['params nested 200,000 deep', { ...post(inParams(200_000)), status: 400, code: 'TooDeep' }],
    ['YAML flow nested 100,000 deep', { ...yaml(`spec: ${deep(100_000)}`), status: 400, code: 'TooDeep' }],
    [
      'YAML blocks nested 100 deep',
      {
        ...yaml(Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' 1'),
        status: 400,
        code: 'TooDeep',
      },
    ],
    ['YAML billion laughs', { ...yaml(laughs), status: 422, code: 'InvalidYaml' }],
    ['a YAML alias to nothing', { ...yaml('a: *nothing'), status: 422, code: 'InvalidYaml' }],
    ['YAML duplicate keys', { ...yaml('kind: Sweep\nkind: Sweep'), status: 422, code: 'InvalidYaml' }],
    ['a YAML tab indent', { ...yaml('spec:\n\tdataset: x'), status: 422, code: 'InvalidYaml' }],
    [
      'a YAML !!js/function tag',
      { ...yaml('apiVersion: !!js/function "function(){}"'), status: 422, code: 'InvalidYaml' },
    ],
    [
      'a YAML merge of __proto__',
      { ...yaml('base: &b {__proto__: {polluted: 1}}\n<<: *b\nkind: Sweep'), status: 422, code: 'InvalidSpec' },
    ],
    ['YAML that is a scalar', { ...yaml('just a string'), status: 422, code: 'InvalidSpec' }],
  ];
}

/** Names: fast-check's invalid names (seed 12), each 422 InvalidSpec on metadata.name. */
export function nameCases(): Case[] {
  const bad = fc.oneof(
    fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s)),
    fc.stringMatching(/^[a-z]{1,10}--[a-z]{1,10}$/),
    fc.stringMatching(/^[a-z0-9]{41,60}$/),
    fc.stringMatching(/^-[a-z0-9]{1,10}$|^[a-z0-9]{1,10}-$/),
    fc.constantFrom(
      '',
      '.',
      '..',
      'a/b',
      'a.b',
      'A',
      'sweep\u0000',
      'ｓｗｅｅｐ',
      'sweep ',
      'a%2fb',
      '__proto__',
      'Constructor',
    ),
  );
  return sample(bad, 12, 70).map((name) => [
    `name ${JSON.stringify(name).slice(0, 40)}`,
    submit(acmeSpec(name), 422, 'InvalidSpec', 'metadata.name'),
  ]);
}

/** Numeric bounds (seed 34): out-of-range, non-integer and non-number values of each bounded field. */
export function numericCases(): Case[] {
  const fields: [string, number, number, (v: unknown) => Record<string, unknown>][] = [
    ['epochs', 1, 10_000, (v) => ({ epochs: v })],
    ['batchSize', 1, 4096, (v) => ({ batchSize: v })],
    ['parallelism', 1, 1000, (v) => ({ parallelism: v })],
    ['retries', 0, 20, (v) => ({ retries: v })],
    ['deadlineSeconds', 60, 30 * 86_400, (v) => ({ deadlineSeconds: v })],
  ];
  const out: Case[] = [];
  fields.forEach(([field, min, max, set], i) => {
    const bad = fc.oneof(
      fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }),
      fc.double({ min: min + 0.01, max: Math.min(max, 1e6) - 0.01, noNaN: true }).filter((d) => !Number.isInteger(d)),
      fc.constantFrom(1e308, -0.5, '4', null, true, [1], { n: 1 }),
    );
    for (const v of sample(bad, 34 + i, 12))
      out.push([
        `${field} = ${JSON.stringify(v)}`,
        submit(acmeSpec('numeric', set(v)), 422, 'InvalidSpec', `spec.${field}`),
      ]);
  });
  for (const gpu of sample(fc.integer({ min: 17, max: 1e9 }), 40, 4))
    out.push([
      `gpu = ${gpu}`,
      submit(acmeSpec('numeric', { resources: { gpu } }), 422, 'InvalidSpec', 'spec.resources.gpu'),
    ]);
  // Inside the schema's bounds, above acme's policy: 403 with the rule's code.
  for (const p of sample(fc.integer({ min: 9, max: 1000 }), 41, 6))
    out.push([
      `parallelism ${p} over the policy's 8`,
      submit(acmeSpec('numeric', { parallelism: p }), 403, 'ParallelismLimitExceeded', 'spec.parallelism'),
    ]);
  for (const gpu of sample(fc.integer({ min: 3, max: 16 }), 42, 5))
    out.push([
      `gpu ${gpu} over acme's 2`,
      submit(
        acmeSpec('numeric', { resources: { gpu, cpu: '1', memory: '1Gi' } }),
        403,
        'ResourceLimitExceeded',
        'spec.resources.gpu',
      ),
    ]);
  for (const cpu of sample(fc.integer({ min: 17, max: 999_999 }), 43, 5))
    out.push([
      `cpu ${cpu} over 16`,
      submit(
        acmeSpec('numeric', { resources: { gpu: 0, cpu: String(cpu), memory: '1Gi' } }),
        403,
        'ResourceLimitExceeded',
        'spec.resources.cpu',
      ),
    ]);
  for (const mem of sample(fc.integer({ min: 65, max: 100_000 }), 44, 5))
    out.push([
      `memory ${mem}Gi over 64Gi`,
      submit(
        acmeSpec('numeric', { resources: { gpu: 0, cpu: '1', memory: `${mem}Gi` } }),
        403,
        'ResourceLimitExceeded',
        'spec.resources.memory',
      ),
    ]);
  return out;
}
