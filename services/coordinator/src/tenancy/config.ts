/**
 * The tenants document of a deployment: FERSWEEP_TENANTS_FILE (a file mounted from a Kubernetes
 * Secret, the chart's `tenancy`) or FERSWEEP_TENANTS (the same JSON inline: embedded and dev use).
 * FERSWEEP_API_TOKENS keeps working beside it: those tokens are the default tenant's admins.
 */
import { readFileSync } from 'node:fs';
import { parseTenantsDocument, type TenantsDocument } from '@fersweep/contracts';
import { createAccess, type Access } from '@fersweep/observability';
import { ConfigError } from '../config.js';
import { mergePolicy, Policy } from './policy.js';

export interface Tenancy {
  access: Access;
  /** The tenants the document names (the default tenant is always there too). */
  tenants: readonly string[];
  /** A tenant's policy: its own fields over the cluster defaults (`defaults.policy`). */
  policyFor(tenant: string): Policy;
}

function parsePolicy(raw: unknown, where: string): Policy {
  const r = Policy.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(`${where}.${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/** The tenants document of the environment, if any (ConfigError naming the variable and field). */
export function readTenantsDocument(env: NodeJS.ProcessEnv): { doc: TenantsDocument; source: string } | undefined {
  const file = env.FERSWEEP_TENANTS_FILE;
  const inline = env.FERSWEEP_TENANTS;
  if (file && inline) throw new ConfigError('set FERSWEEP_TENANTS_FILE or FERSWEEP_TENANTS, not both');
  let text: string;
  let source: string;
  if (file) {
    source = `FERSWEEP_TENANTS_FILE (${file})`;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${source} cannot be read: ${(err as Error).message}`);
    }
  } else if (inline) {
    source = 'FERSWEEP_TENANTS';
    text = inline;
  } else return undefined;
  try {
    return { doc: parseTenantsDocument(text, source), source };
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** Access and policies from the environment and the legacy token list. */
export function loadTenancy(env: NodeJS.ProcessEnv, legacyTokens: readonly string[] = []): Tenancy {
  const read = readTenantsDocument(env);
  const doc = read?.doc;
  const defaults = parsePolicy(doc?.defaults.policy, `${read?.source ?? 'tenants'}: defaults.policy`);
  const policies = new Map<string, Policy>();
  doc?.tenants.forEach((t, i) =>
    policies.set(t.name, mergePolicy(defaults, parsePolicy(t.policy, `${read!.source}: tenants[${i}].policy`))),
  );
  return {
    access: createAccess({
      legacyTokens,
      tenants: (doc?.tenants ?? []).map((t) => ({
        name: t.name,
        admin: t.role === 'admin',
        tokenSha256: t.tokens.map((k) => k.sha256),
      })),
    }),
    tenants: doc?.tenants.map((t) => t.name) ?? [],
    policyFor: (tenant) => policies.get(tenant) ?? defaults,
  };
}
