/** How filesystem errors become the store's StoreError codes and messages. */
import { StoreError } from './types.js';

/** The errno code of a Node.js filesystem error. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes(errnoOf(err) ?? '');

/** No object at `key`. */
export function notFoundError(url: string, key: string, cause?: unknown): StoreError {
  return new StoreError('NotFound', `no object '${key}' in ${url}`, url, { cause });
}

/** `key` and an existing object are a file and a directory of one path. */
export function conflictError(url: string, key: string, cause: unknown): StoreError {
  return new StoreError(
    'InvalidKey',
    `key '${key}' clashes with an existing object in ${url}: a file store cannot hold both 'x' and 'x/…' keys`,
    url,
    { cause },
  );
}

/** A filesystem error as a StoreError with a code and a one-line message naming the object and what to check. */
export function fsError(
  url: string,
  err: unknown,
  key: string,
  action: 'read' | 'write' | 'delete' | 'list',
): StoreError {
  if (err instanceof StoreError) return err;
  const code = errnoOf(err) ?? 'unknown error';
  const where = `'${key}' in ${url}`;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new StoreError(
        'AccessDenied',
        `permission denied to ${action} ${where} (${code}): check the directory's owner and mode`,
        url,
        { cause: err },
      );
    case 'EISDIR':
    case 'ENOTDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return conflictError(url, key, err);
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EROFS':
    case 'EIO':
      return new StoreError(
        'Unavailable',
        `cannot ${action} ${where} (${code}): the filesystem is full, read-only or failing`,
        url,
        { cause: err },
      );
    default:
      return new StoreError('Internal', `failed to ${action} ${where} (${code})`, url, { cause: err });
  }
}
