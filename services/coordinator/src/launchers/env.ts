/** Variables a trainer child process inherits by exact name. */
const NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TZ',
  'LANG',
  'LANGUAGE',
  'LOG_LEVEL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SYSTEMROOT',
]);

/**
 * Prefixes a trainer inherits: locale, Node's own settings (NODE_OPTIONS, NODE_EXTRA_CA_CERTS),
 * the object store's credentials and endpoint (AWS_*: the trainer reads and writes artifacts with
 * them, as a trainer pod does with its Secret), the bus (NATS_*) and fersweep's trainer settings
 * (FERSWEEP_TF_BACKEND, FERSWEEP_S3_*).
 */
const PREFIXES = ['LC_', 'NODE_', 'AWS_', 'NATS_', 'FERSWEEP_'];

/**
 * Never inherited, whatever the prefix: the coordinator's API tokens, the CLI's token and any other
 * fersweep credential. A trainer runs user-chosen code paths on user-chosen data; it needs the
 * store and the bus, never the right to call the API.
 */
// TENANTS: the tenants document (token hashes, policies) is the coordinator's business, not trial code's.
const SECRET = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_KEY|TENANTS/i;

/**
 * The environment of a local trainer child: an allow-list of the coordinator's environment, so
 * that its secrets (FERSWEEP_API_TOKENS above all) never reach a trainer — the counterpart of a
 * trainer pod getting only the variables its Job names.
 */
export function trainerEnv(source: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const allowed = NAMES.has(name) || PREFIXES.some((p) => name.startsWith(p));
    if (!allowed) continue;
    if (name.startsWith('FERSWEEP_') && SECRET.test(name)) continue;
    out[name] = value;
  }
  return out;
}
