/**
 * resource.Quantity parsing (k8s.io/apimachinery/pkg/api/resource) to a plain number: enough to
 * compare requests with limits and resolve `resourceFieldRef`, not its exact decimal arithmetic.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** The value of a quantity (`"500m"` → 0.5, `"1Gi"` → 1073741824), or undefined when it does not parse. */
export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m || q.trim() !== q) return undefined;
  const num = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return num * (BINARY[suffix] ?? 1);
  if (suffix in DECIMAL) return num * (DECIMAL[suffix] ?? 1);
  if (/^[eE]/.test(suffix)) return num * 10 ** Number(suffix.slice(1));
  return undefined;
}

/** Whether `q` is a whole number (extended resources such as nvidia.com/gpu must be). */
export function isWholeQuantity(q: string | number): boolean {
  const v = parseQuantity(q);
  return v !== undefined && Number.isInteger(v);
}
