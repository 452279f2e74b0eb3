/**
 * Label and field selectors with the grammar of k8s.io/apimachinery/pkg/labels and .../fields:
 * `a=b,a==b,a!=b,a in (x,y),a notin (x),a,!a,a>1,a<2` and `metadata.name=x,status.phase!=Failed`.
 */
import { isLabelValue, isQualifiedName } from './names.js';
import { badRequest } from './status.js';
import { isObject } from './types.js';

/** One requirement of a label selector. */
export interface LabelRequirement {
  key: string;
  operator: 'Exists' | 'DoesNotExist' | 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'GreaterThan' | 'LessThan';
  values: string[];
}

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'op'; text: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '>' | '<' }
  | { kind: 'end' };

function lex(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if (c === '!' || c === '=' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<') {
      tokens.push({ kind: 'op', text: c });
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && !/[\s!=(),<>]/.test(s[j] ?? '')) j++;
    tokens.push({ kind: 'ident', text: s.slice(i, j) });
    i = j;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

const parseError = (selector: string, why: string) =>
  badRequest(`unable to parse requirement: ${why} (in label selector ${JSON.stringify(selector)})`);

function checkKey(selector: string, key: string): void {
  const errs = isQualifiedName(key);
  if (errs.length > 0) throw parseError(selector, `key: Invalid value: ${JSON.stringify(key)}: ${errs.join('; ')}`);
}

function checkValue(selector: string, key: string, value: string): void {
  const errs = isLabelValue(value);
  if (errs.length > 0)
    throw parseError(selector, `values[0][${key}]: Invalid value: ${JSON.stringify(value)}: ${errs.join('; ')}`);
}

/** Parses a label selector string; throws a 400 BadRequest KubeApiError when it does not parse. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const tokens = lex(selector);
  let pos = 0;
  const peek = (): Token => tokens[pos] ?? { kind: 'end' };
  const next = (): Token => tokens[pos++] ?? { kind: 'end' };
  const reqs: LabelRequirement[] = [];
  if (peek().kind === 'end') return reqs;
  for (;;) {
    let t = next();
    if (t.kind === 'op' && t.text === '!') {
      t = next();
      if (t.kind !== 'ident') throw parseError(selector, `found '${tokenText(t)}', expected: identifier after '!'`);
      checkKey(selector, t.text);
      reqs.push({ key: t.text, operator: 'DoesNotExist', values: [] });
    } else if (t.kind === 'ident') {
      const key = t.text;
      checkKey(selector, key);
      const op = peek();
      if (op.kind === 'end' || (op.kind === 'op' && op.text === ',')) {
        reqs.push({ key, operator: 'Exists', values: [] });
      } else if (op.kind === 'op' && (op.text === '=' || op.text === '==' || op.text === '!=')) {
        next();
        const v = peek();
        let value = '';
        if (v.kind === 'ident') {
          value = v.text;
          next();
        } else if (!(v.kind === 'end' || (v.kind === 'op' && v.text === ','))) {
          throw parseError(selector, `found '${tokenText(v)}', expected: identifier`);
        }
        checkValue(selector, key, value);
        reqs.push({ key, operator: op.text === '!=' ? 'NotEquals' : 'Equals', values: [value] });
      } else if (op.kind === 'op' && (op.text === '>' || op.text === '<')) {
        next();
        const v = next();
        if (v.kind !== 'ident' || !/^-?\d+$/.test(v.text))
          throw parseError(selector, `for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, operator: op.text === '>' ? 'GreaterThan' : 'LessThan', values: [v.text] });
      } else if (op.kind === 'ident' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (!(open.kind === 'op' && open.text === '('))
          throw parseError(selector, `found '${tokenText(open)}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const v = peek();
          if (v.kind === 'ident') {
            checkValue(selector, key, v.text);
            values.push(v.text);
            next();
          } else values.push('');
          const sep = next();
          if (sep.kind === 'op' && sep.text === ')') break;
          if (!(sep.kind === 'op' && sep.text === ','))
            throw parseError(selector, `found '${tokenText(sep)}', expected: ',' or ')'`);
        }
        reqs.push({ key, operator: op.text === 'in' ? 'In' : 'NotIn', values });
      } else {
        throw parseError(selector, `found '${tokenText(op)}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    } else {
      throw parseError(selector, `found '${tokenText(t)}', expected: !, identifier, or 'end of string'`);
    }
    const sep = next();
    if (sep.kind === 'end') break;
    if (!(sep.kind === 'op' && sep.text === ','))
      throw parseError(selector, `found '${tokenText(sep)}', expected: ',' or 'end of string'`);
  }
  return reqs;
}

function tokenText(t: Token): string {
  return t.kind === 'end' ? 'end of string' : t.text;
}

/** Whether a label set satisfies every requirement (NotIn/!= also match when the key is absent). */
export function matchesLabels(
  reqs: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>> = {},
): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.operator) {
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'Equals':
      case 'In':
        return has && v !== undefined && r.values.includes(v);
      case 'NotEquals':
      case 'NotIn':
        return !has || v === undefined || !r.values.includes(v);
      case 'GreaterThan':
      case 'LessThan': {
        if (!has || v === undefined || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        return r.operator === 'GreaterThan' ? n > bound : n < bound;
      }
    }
  });
}

/** metav1.LabelSelector (matchLabels + matchExpressions) as requirements. */
export function requirementsFromLabelSelector(sel: unknown): LabelRequirement[] {
  if (!isObject(sel)) return [];
  const reqs: LabelRequirement[] = [];
  if (isObject(sel.matchLabels))
    for (const [key, value] of Object.entries(sel.matchLabels))
      reqs.push({ key, operator: 'Equals', values: [String(value)] });
  if (Array.isArray(sel.matchExpressions))
    for (const e of sel.matchExpressions) {
      if (!isObject(e) || typeof e.key !== 'string') continue;
      const values = Array.isArray(e.values) ? e.values.map(String) : [];
      const op = e.operator;
      if (op === 'In' || op === 'NotIn') reqs.push({ key: e.key, operator: op, values });
      else if (op === 'Exists') reqs.push({ key: e.key, operator: 'Exists', values: [] });
      else if (op === 'DoesNotExist') reqs.push({ key: e.key, operator: 'DoesNotExist', values: [] });
    }
  return reqs;
}

/** One requirement of a field selector. */
export interface FieldRequirement {
  field: string;
  operator: 'Equals' | 'NotEquals';
  value: string;
}

/** Splits on unescaped `sep`, honouring the `\,` `\=` `\\` escapes of fields.ParseSelector. */
function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '\\' && i + 1 < s.length) {
      cur += c + (s[i + 1] ?? '');
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/**
 * Parses a field selector; `supported` lists the field labels the resource answers to (the server
 * rejects others with 400 `field label not supported: x`).
 */
export function parseFieldSelector(selector: string, supported: readonly string[]): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  if (selector.trim() === '') return reqs;
  for (const part of splitEscaped(selector, ',')) {
    const m = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(part.trim());
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = (m[1] ?? '').trim();
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    reqs.push({ field, operator: m[2] === '!=' ? 'NotEquals' : 'Equals', value: unescape(m[3] ?? '') });
  }
  return reqs;
}

/** Whether an object's field set satisfies every field requirement. */
export function matchesFields(reqs: readonly FieldRequirement[], fields: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => {
    const v = fields[r.field] ?? '';
    return r.operator === 'Equals' ? v === r.value : v !== r.value;
  });
}
