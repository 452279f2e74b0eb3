/**
 * The evaluator's view of tenants: the coordinator's tenants document (the same Secret) for tokens,
 * and the sweep id for a sweep's tenant (`<name>--<tenant>`, see @fersweep/contracts' tenancy) —
 * never a field of an event, which any publisher could forge.
 */
import { readFileSync } from 'node:fs';
import { parseTenantsDocument } from '@fersweep/contracts';
import { createAccess, type Access } from '@fersweep/observability';
import { EvaluatorError } from './errors.js';

/** Access from FERSWEEP_API_TOKENS (the default tenant's admins) and the tenants document, if any. */
export function loadAccess(config: {
  FERSWEEP_API_TOKENS?: readonly string[] | undefined;
  FERSWEEP_TENANTS_FILE?: string | undefined;
  FERSWEEP_TENANTS?: string | undefined;
}): Access {
  let text: string | undefined;
  let source = 'FERSWEEP_TENANTS';
  if (config.FERSWEEP_TENANTS_FILE) {
    source = `FERSWEEP_TENANTS_FILE (${config.FERSWEEP_TENANTS_FILE})`;
    try {
      text = readFileSync(config.FERSWEEP_TENANTS_FILE, 'utf8');
    } catch (err) {
      throw new EvaluatorError('InvalidArgument', `${source} cannot be read: ${(err as Error).message}`);
    }
  } else text = config.FERSWEEP_TENANTS;
  let tenants: { name: string; admin: boolean; tokenSha256: string[] }[] = [];
  if (text !== undefined) {
    try {
      tenants = parseTenantsDocument(text, source).tenants.map((t) => ({
        name: t.name,
        admin: t.role === 'admin',
        tokenSha256: t.tokens.map((k) => k.sha256),
      }));
    } catch (err) {
      throw new EvaluatorError('InvalidArgument', (err as Error).message);
    }
  }
  return createAccess({ legacyTokens: config.FERSWEEP_API_TOKENS ?? [], tenants });
}
