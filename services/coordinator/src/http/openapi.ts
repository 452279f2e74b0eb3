/** The API's OpenAPI 3.1 document (GET /openapi.json). */
import { z } from 'zod';
import { SweepReport, SweepSpec, TrialSpec } from '@fersweep/contracts';

/** OpenAPI 3.1 document, its schemas generated from the zod contracts. */
export function openApiDocument() {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  const problemRef = { $ref: '#/components/schemas/Problem' };
  const err = (d: string) => ({ description: d, content: { 'application/problem+json': { schema: problemRef } } });
  return {
    openapi: '3.1.0',
    info: {
      title: 'fersweep coordinator',
      version: '1',
      description: 'Submit and follow sweeps comparing FER model variants.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        SweepSpec: schema(SweepSpec),
        TrialSpec: schema(TrialSpec),
        SweepReport: schema(SweepReport),
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string' },
            detail: { type: 'string' },
            field: { type: 'string', description: 'the first offending field, e.g. spec.variants[1].params.alpha' },
            rule: { type: 'string', description: 'policy refusals: the policy field that refused, e.g. datasets' },
            errors: {
              type: 'array',
              description: 'InvalidSpec: every problem found, each with its field and what is allowed',
              items: {
                type: 'object',
                required: ['field', 'detail'],
                properties: { field: { type: 'string' }, detail: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/sweeps': {
        post: {
          summary: 'Submit a sweep (JSON or YAML); idempotent by metadata.name and Idempotency-Key',
          parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/SweepSpec' } },
              'application/yaml': { schema: { $ref: '#/components/schemas/SweepSpec' } },
            },
          },
          responses: {
            '201': { description: 'created' },
            '200': { description: 'the same sweep already exists' },
            '400': err('malformed body: invalid JSON, a Content-Encoding it does not match, nesting deeper than 64'),
            '401': err('no or wrong token'),
            '403': err(
              "the tenant's policy refuses it (DatasetNotAllowed, PriorityClassNotAllowed, QueueNotAllowed, " +
                'TolerationNotAllowed, NodeSelectorNotAllowed, ResourceLimitExceeded, TrialLimitExceeded, ' +
                'ParallelismLimitExceeded, UrlNotAllowed), with `field` and `rule`; nothing is stored or started',
            ),
            '409': err("a sweep of that name exists in the caller's tenant with another spec"),
            '413': err(
              'PayloadTooLarge: a JSON body over 1 MiB, or a YAML body over 256 KiB (send large sweeps as JSON)',
            ),
            '415': err('unsupported content type, Content-Encoding or charset'),
            '422': err(
              'invalid spec (InvalidSpec, with `field` and `errors`: unknown model or param, a value out of range, an ' +
                'invalid combination, a search value outside the bounds of the field it sets) or too many trials ' +
                '(TooManyTrials); nothing is stored or started',
            ),
          },
        },
        get: {
          summary: 'List sweeps (paginated)',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            {
              name: 'cursor',
              in: 'query',
              description: 'the `continue` of the previous page (opaque); `continue=` is accepted too',
              schema: { type: 'string' },
            },
            { name: 'continue', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description:
                "a page of the caller's sweeps (an admin's: every tenant's), oldest first, with `continue` when more remain",
            },
            '400': err('InvalidQuery: a limit out of 1..500 or a cursor this API did not hand out'),
          },
        },
      },
      '/v1/sweeps/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary:
            "A sweep's phase, each trial's phase, attempts, last epoch metrics and model URL, and `report: { url, ready }` " +
            '(ready: the sweep ended and its final report is there)',
          responses: { '200': { description: 'the sweep' }, '404': err('no such sweep') },
        },
        delete: {
          summary:
            'Cancel: stops and deletes running trials. With `purge=true`: also removes the sweep (records, events, ' +
            "the evaluator's state; its artifacts too with `artifacts=true`), and its name can be used again",
          parameters: [
            { name: 'purge', in: 'query', schema: { type: 'boolean' } },
            { name: 'artifacts', in: 'query', schema: { type: 'boolean' } },
          ],
          responses: {
            '200': { description: 'cancelled, or purged' },
            '400': err('purge or artifacts not true/false'),
            '404': err('no such sweep'),
          },
        },
      },
      '/v1/sweeps/{id}/report': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary:
            "The sweep's comparison report: live while it runs; once its phase is terminal, always the final report",
          responses: {
            '200': {
              description: 'the report',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/SweepReport' } } },
            },
            '404': err('no such sweep, or no report of it yet (a sweep that has not started)'),
            '503': err(
              'ReportPending: the sweep ended but the evaluator has not yet recorded its last events within the wait ' +
                '(FERSWEEP_REPORT_WAIT_SECONDS); retry after Retry-After',
            ),
          },
        },
      },
      '/v1/sweeps/{id}/trials/{trial}/logs': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'trial', in: 'path', required: true, schema: { type: 'string' } },
        ],
        get: {
          summary: "The trainer's log of the latest attempt",
          responses: { '200': { description: 'text/plain log' }, '404': err('no such trial') },
        },
      },
      '/healthz': { get: { security: [], summary: 'Liveness', responses: { '200': { description: 'alive' } } } },
      '/readyz': {
        get: {
          security: [],
          summary: 'Readiness',
          responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
        },
      },
      '/metrics': {
        get: { security: [], summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition' } } },
      },
    },
  };
}
