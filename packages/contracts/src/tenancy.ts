/**
 * Tenancy shared by the coordinator and the evaluator: tenant names, the tenants document
 * (FERSWEEP_TENANTS_FILE, mounted from a Kubernetes Secret, or FERSWEEP_TENANTS inline) and how a
 * sweep's id carries its tenant.
 *
 * A sweep of tenant `acme` named `mnist` has the id `mnist--acme`; a sweep of the default tenant
 * keeps its bare name as id (what single-tenant installations stored before tenants existed). Sweep
 * names may not contain `--` and tenant names neither, so an id decomposes one way only: two tenants
 * can use the same name, and no tenant can take (or probe) a name of another. Every component keys by
 * the id (state, object store, events, Job names), so the tenant travels with each of them and can
 * be forged by no event: the evaluator reads it from the id too.
 */
import { z } from 'zod';

/** The tenant of FERSWEEP_API_TOKENS, of an API without tokens, and of every sweep stored before tenants. */
export const DEFAULT_TENANT = 'default';

/** The separator between a sweep's name and its tenant in the sweep id. */
export const TENANT_SEPARATOR = '--';

/** Lowercase alphanumerics with single '-' inside, at most 20 characters. */
export const TenantName = z
  .string()
  .regex(
    /^[a-z0-9]+(-[a-z0-9]+)*$/,
    "tenant names are lowercase letters and digits with single '-' between them (no '--')",
  )
  .max(20, 'tenant names are at most 20 characters');

/** A token as stored: the hex sha256 of the token itself (`printf %s "$TOKEN" | sha256sum`). */
const TokenHash = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters: printf %s "$TOKEN" | sha256sum');

export const TenantEntry = z
  .object({
    name: TenantName,
    /** `admin` sees and cancels every tenant's sweeps (operators, the coordinator's own evaluator token). */
    role: z.enum(['member', 'admin']).default('member'),
    tokens: z.array(z.object({ sha256: TokenHash }).strict()).min(1, 'a tenant needs at least one token'),
    /** This tenant's policy: overrides the document's `defaults` field by field (the coordinator checks it). */
    policy: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type TenantEntry = z.infer<typeof TenantEntry>;

export const TenantsDocument = z
  .object({
    apiVersion: z.literal('fersweep/v1').default('fersweep/v1'),
    kind: z.literal('Tenants').default('Tenants'),
    /** The cluster's default policy (Helm `policy`), for every tenant that does not override a field. */
    defaults: z
      .object({ policy: z.record(z.string(), z.unknown()).optional() })
      .strict()
      .default({}),
    tenants: z.array(TenantEntry).default([]),
  })
  .strict()
  .superRefine((d, ctx) => {
    const names = new Set<string>();
    const hashes = new Set<string>();
    d.tenants.forEach((t, i) => {
      if (names.has(t.name))
        ctx.addIssue({ code: 'custom', message: `duplicate tenant '${t.name}'`, path: ['tenants', i, 'name'] });
      names.add(t.name);
      t.tokens.forEach((k, j) => {
        if (hashes.has(k.sha256))
          ctx.addIssue({
            code: 'custom',
            message: 'this token is listed twice: a token belongs to one tenant',
            path: ['tenants', i, 'tokens', j, 'sha256'],
          });
        hashes.add(k.sha256);
      });
    });
  });
export type TenantsDocument = z.infer<typeof TenantsDocument>;

/** Parses a tenants document (JSON); the error names the first bad field and the source. */
export function parseTenantsDocument(text: string, source: string): TenantsDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not JSON: ${(err as Error).message}`);
  }
  const r = TenantsDocument.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/** Who made a request. */
export interface Principal {
  tenant: string;
  admin: boolean;
}

/** The sweep id of tenant's sweep `name`. */
export function sweepIdFor(tenant: string, name: string): string {
  return tenant === DEFAULT_TENANT ? name : `${name}${TENANT_SEPARATOR}${tenant}`;
}

/** The tenant and name a sweep id encodes. */
export function splitSweepId(id: string): { tenant: string; name: string } {
  const at = id.indexOf(TENANT_SEPARATOR);
  return at < 0 ? { tenant: DEFAULT_TENANT, name: id } : { tenant: id.slice(at + 2), name: id.slice(0, at) };
}

/** The longest sweep name a tenant can use: the id (name--tenant) stays within sweep names' 40 + tenants' 20. */
export function maxSweepNameLength(tenant: string): number {
  return tenant === DEFAULT_TENANT ? 40 : Math.min(40, 63 - TENANT_SEPARATOR.length - tenant.length);
}

/**
 * The sweep id a caller means by `pathId` in a URL, or undefined when it names nothing the caller
 * may see. Admins address sweeps by id; everyone else by the name in their own tenant. Callers answer
 * undefined with 404, like a sweep that does not exist: another tenant's sweep never shows as 403.
 */
export function resolveSweepId(who: Principal, pathId: string): string | undefined {
  if (who.admin) return pathId;
  if (pathId.includes(TENANT_SEPARATOR)) return undefined;
  return sweepIdFor(who.tenant, pathId);
}

/** Whether a principal may see a sweep. */
export function canSee(who: Principal, sweepId: string): boolean {
  return who.admin || splitSweepId(sweepId).tenant === who.tenant;
}

/** How a sweep id shows to a caller: its name for its own tenant's members, the id for admins. */
export function sweepIdAs(who: Principal, sweepId: string): string {
  return who.admin ? sweepId : splitSweepId(sweepId).name;
}
