/**
 * NATS subject rules, implemented once so the in-process bus and KV filter exactly like the
 * server does: tokens split on '.', `*` matches one token, `>` (last only) one or more.
 */
import { MessagingError } from './types.js';

const TOKEN = /^[^\s.*>]+$/;

/** Throws 'InvalidArgument' unless `filter` is a well-formed subject filter (wildcards allowed). */
export function assertSubjectFilter(filter: string, what = 'subject filter'): void {
  const tokens = filter.split('.');
  const ok = tokens.every((t, i) => TOKEN.test(t) || t === '*' || (t === '>' && i === tokens.length - 1));
  if (!ok || filter.length === 0)
    throw new MessagingError(
      'InvalidArgument',
      `invalid ${what} '${filter}': dot-separated tokens, '*' for one token, '>' only last`,
    );
}

/** True when the literal `subject` matches `filter`. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const t = f[i];
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return f.length === s.length;
}

/** True when every subject `filter` matches is also matched by `of` (a consumer filter inside its stream). */
export function subjectIsSubset(filter: string, of: string): boolean {
  const f = filter.split('.');
  const o = of.split('.');
  for (let i = 0; i < o.length; i++) {
    const t = o[i];
    const ft = f[i];
    if (t === '>') return f.length > i;
    if (ft === undefined || ft === '>') return false;
    if (t !== '*' && (ft === '*' || ft !== t)) return false;
  }
  return f.length === o.length;
}
