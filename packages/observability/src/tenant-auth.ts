/**
 * Bearer tokens → principals (tenant, admin), shared by the coordinator and the evaluator.
 *
 * Tokens are stored as their sha256, as GitHub and GitLab store personal access tokens: a stolen
 * tenants Secret gives no usable token, and since the tokens are high-entropy random strings
 * (`openssl rand -hex 32`: 256 bits) a preimage search is as hopeless as guessing the token. A slow
 * password hash (bcrypt, scrypt, argon2) exists to stretch low-entropy passwords; on random tokens it
 * buys nothing and would cost ~50–100 ms of CPU on every request — a denial of service lever for
 * anyone who sends junk tokens. The lookup compares the presented token's digest with every
 * configured digest in constant time, whether or not one matched, so neither timing nor the number of
 * tenants says which digest came close.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Who made a request (the same shape as @fersweep/contracts' Principal). */
export interface AccessPrincipal {
  tenant: string;
  admin: boolean;
}

/** One tenant's credentials as the tenants document lists them. */
export interface TenantCredentials {
  name: string;
  admin: boolean;
  /** Hex sha256 digests of the tenant's tokens. */
  tokenSha256: readonly string[];
}

export interface AccessOptions {
  tenants?: readonly TenantCredentials[];
  /** Plain tokens (FERSWEEP_API_TOKENS): the default tenant, admin — what single-tenant installs had. */
  legacyTokens?: readonly string[];
  /** The tenant of legacyTokens (default 'default'). */
  legacyTenant?: string;
}

/** Resolves an Authorization header to its principal; `enabled` is false when no token is configured (auth off). */
export interface Access {
  readonly enabled: boolean;
  principal(header: string | undefined): AccessPrincipal | undefined;
}

/** The sha256 of a token as the tenants document stores it (hex). */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function createAccess(options: AccessOptions): Access {
  const entries: { digest: Buffer; principal: AccessPrincipal }[] = [];
  const legacy = { tenant: options.legacyTenant ?? 'default', admin: true };
  for (const t of options.legacyTokens ?? [])
    entries.push({ digest: createHash('sha256').update(t, 'utf8').digest(), principal: legacy });
  for (const t of options.tenants ?? [])
    for (const h of t.tokenSha256)
      entries.push({ digest: Buffer.from(h, 'hex'), principal: { tenant: t.name, admin: t.admin } });
  return {
    enabled: entries.length > 0,
    principal(header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
      const given = createHash('sha256')
        .update(m?.[1] ?? '', 'utf8')
        .digest();
      let found: AccessPrincipal | undefined;
      for (const e of entries) {
        const same = e.digest.length === given.length && timingSafeEqual(e.digest, given);
        if (same && !found) found = e.principal;
      }
      return m ? found : undefined;
    },
  };
}
