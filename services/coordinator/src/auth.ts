import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer-token check in constant time: every configured token is compared (as sha256 digests, so
 * lengths never leak), whether or not an earlier one matched.
 */
export function tokenChecker(tokens: readonly string[]): (header: string | undefined) => boolean {
  const digests = tokens.map((t) => createHash('sha256').update(t).digest());
  return (header) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const given = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    return ok && m !== null;
  };
}
