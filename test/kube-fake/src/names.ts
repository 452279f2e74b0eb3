/**
 * The name and label syntax rules of k8s.io/apimachinery/pkg/util/validation, with the same
 * messages. Each checker returns the list of problems (empty when valid).
 */

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const QUALIFIED_NAME_PART = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME_PART})?`;
const ENV_VAR_NAME = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const CONFIG_MAP_KEY = '[-._a-zA-Z0-9]+';

const full = (re: string) => new RegExp(`^(?:${re})$`);
const RE = {
  label: full(DNS1123_LABEL),
  subdomain: full(DNS1123_SUBDOMAIN),
  qualifiedPart: full(QUALIFIED_NAME_PART),
  labelValue: full(LABEL_VALUE),
  envVar: full(ENV_VAR_NAME),
  configMapKey: full(CONFIG_MAP_KEY),
};

const maxLen = (n: number) => `must be no more than ${n} characters`;
const regexError = (what: string, re: string, examples: string[]) =>
  `${what} (e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}, regex used for validation is '${re}')`;

/** RFC 1123 label (container names, namespaces): ≤ 63, `[a-z0-9]([-a-z0-9]*[a-z0-9])?`. */
export function isDns1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!RE.label.test(v))
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL,
        ['my-name', '123-abc'],
      ),
    );
  return errs;
}

/** RFC 1123 subdomain (most object names): ≤ 253, dot-separated labels. */
export function isDns1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!RE.subdomain.test(v))
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN,
        ['example.com'],
      ),
    );
  return errs;
}

/** A qualified name (label and annotation keys, condition types): `[prefix/]name`. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0] ?? '';
  else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDns1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      regexError(
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_PART,
        ['MyName', 'my.name', '123-abc'],
      ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (name.length > 0 && !RE.qualifiedPart.test(name))
    errs.push(
      regexError(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_PART,
        ['MyName', 'my.name', '123-abc'],
      ),
    );
  return errs;
}

/** A label value: empty, or ≤ 63 of `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`. */
export function isLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!RE.labelValue.test(v))
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE,
        ['MyValue', 'my_value', '12345'],
      ),
    );
  return errs;
}

/** An environment variable name: `[-._a-zA-Z][-._a-zA-Z0-9]*`. */
export function isEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (!RE.envVar.test(v))
    errs.push(
      regexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        ENV_VAR_NAME,
        ['my.env-name', 'MY_ENV.NAME', 'MyEnvName1'],
      ),
    );
  if (v === '.') errs.push("must not be '.'");
  else if (v === '..') errs.push("must not be '..'");
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** A Secret or ConfigMap data key: `[-._a-zA-Z0-9]+`, ≤ 253. */
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!RE.configMapKey.test(v))
    errs.push(
      regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_MAP_KEY, [
        'key.name',
        'KEY_NAME',
        'key-name',
      ]),
    );
  if (v === '.') errs.push("must not be '.'");
  else if (v === '..') errs.push("must not be '..'");
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

const RANDOM_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** 5 random characters from the alphabet the API server uses for generateName suffixes. */
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += RANDOM_ALPHABET[Math.floor(Math.random() * RANDOM_ALPHABET.length)];
  return s;
}

/** `generateName` + suffix, the base cut to 58 characters as the server does. */
export function generateName(base: string): string {
  return `${base.length > 58 ? base.slice(0, 58) : base}${randomSuffix()}`;
}
