import { run } from '../main.js';

/** Runs `fersweep …argv` in-process, capturing stdout and stderr: its exit code and both outputs. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}
