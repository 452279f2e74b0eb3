import { Lexer, parse as parseYaml } from 'yaml';

/**
 * How deep a request body may nest (objects and arrays, JSON or YAML). A sweep spec needs about
 * ten levels; the limit stops bodies whose depth would exhaust the stack of whatever walks them
 * next (validation, hashing, JSON.stringify) or make the YAML parser crawl.
 */
export const MAX_BODY_DEPTH = 64;

/** A request body refused before it reaches the scheduler: status and stable code for problem+json. */
export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const tooDeep = (max: number) =>
  new BodyError(400, 'TooDeep', `the body nests deeper than ${max} levels: flatten it (a sweep spec needs about ten)`);

/** Throws BodyError TooDeep when `value` nests deeper than `max`; iterative, so any depth is safe to check. */
export function assertDepth(value: unknown, max = MAX_BODY_DEPTH): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) throw tooDeep(max);
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) stack.push([child, depth + 1]);
  }
}

/**
 * Parses a YAML body with its depth bounded: flow collections (`[[[…`) are counted with the yaml
 * package's own lexer before parsing — stopping at the limit, as the parser and lexer slow down
 * steeply with depth — and block nesting is checked on the result. Other parse errors are the
 * caller's (YAMLParseError).
 */
export function parseYamlBody(text: string, max = MAX_BODY_DEPTH): unknown {
  let flow = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      if (++flow > max) throw tooDeep(max);
    } else if (token === ']' || token === '}') flow--;
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    // The parser recurses per block level: a stack overflow means the body nests too deep.
    if (err instanceof RangeError || (err instanceof Error && /Maximum call stack/.test(err.message)))
      throw tooDeep(max);
    throw err;
  }
  assertDepth(value, max);
  return value;
}

/**
 * The problem for an error of express's body parsers (http-errors with a `type`), or undefined for
 * any other error: every malformed request is a 4xx with a stable code, never a 500.
 */
export function bodyParserProblem(err: unknown): { status: number; code: string; detail: string } | undefined {
  const e = err as {
    type?: string;
    status?: number;
    expose?: boolean;
    code?: string;
    message?: string;
    encoding?: string;
    charset?: string;
  };
  if (!e || typeof e !== 'object' || typeof e.status !== 'number' || e.status < 400 || e.status >= 500)
    return undefined;
  switch (e.type) {
    case 'encoding.unsupported':
      return {
        status: 415,
        code: 'UnsupportedEncoding',
        detail: `Content-Encoding '${String(e.encoding ?? '').slice(0, 40)}' is not supported: send the body as identity, gzip, deflate or br`,
      };
    case 'charset.unsupported':
      return {
        status: 415,
        code: 'UnsupportedCharset',
        detail: `charset '${String(e.charset ?? '').slice(0, 40)}' is not supported: send UTF-8`,
      };
    case 'request.aborted':
      return { status: 400, code: 'RequestAborted', detail: 'the client closed the request before the body was read' };
    case 'request.size.invalid':
      return {
        status: 400,
        code: 'InvalidContentLength',
        detail: 'the body is not as long as its Content-Length says',
      };
    case undefined:
      // zlib's codes: Z_DATA_ERROR… for gzip/deflate, ERR__ERROR_FORMAT_… / ERR_BROTLI_… for br.
      if (typeof e.code === 'string' && /^(Z_|ERR__|ERR_BROTLI)/.test(e.code))
        return {
          status: 400,
          code: 'InvalidEncoding',
          detail:
            'the body does not decode with its Content-Encoding: compress it as the header says, or drop the header',
        };
      return undefined;
    default:
      return undefined;
  }
}
