/**
 * Tenancy at the coordinator's HTTP edge: who a request comes from, which sweep id a path names
 * for them, and how lists are paged. Another tenant's sweep is answered exactly like a sweep that
 * does not exist (404 NotFound, the same detail), so no response tells that a name is taken elsewhere.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { DEFAULT_TENANT, splitSweepId, resolveSweepId, sweepIdAs, type Principal } from '@fersweep/contracts';
import { createAccess, type Access } from '@fersweep/observability';
import { decodeCursor } from './sweep-index.js';

/** With no token configured at all, every caller is the default tenant's admin (auth off, loopback only). */
export const ANONYMOUS: Principal = { tenant: DEFAULT_TENANT, admin: true };

/** The access check of an app: the configured one, else FERSWEEP_API_TOKENS as the default tenant's admins. */
export function accessOf(deps: { access?: Access; tokens: readonly string[] }): Access {
  return deps.access ?? createAccess({ legacyTokens: deps.tokens });
}

export function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

/** The sweep id `pathId` names for this caller, or undefined (answer 404). */
export function sweepIdFor(who: Principal, pathId: string): string | undefined {
  return resolveSweepId(who, pathId);
}

/** `id` as the caller addresses the sweep, with its name and tenant. */
export function identity(who: Principal, id: string) {
  const { tenant, name } = splitSweepId(id);
  return { id: sweepIdAs(who, id), name, tenant };
}

export const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    /** The `continue` of the previous page (Kubernetes' name); `cursor` is the same. */
    continue: z.string().max(200).optional(),
    cursor: z.string().max(200).optional(),
  })
  .transform((q, ctx) => {
    const token = q.cursor ?? q.continue;
    const after = token === undefined ? undefined : decodeCursor(token);
    if (token !== undefined && !after) {
      ctx.addIssue({ code: 'custom', message: 'not a cursor this API handed out', path: ['cursor'] });
      return z.NEVER;
    }
    return { limit: q.limit, ...(after ? { after } : {}) };
  });
