import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { TRAINER_NODE_OPTIONS } from '@fersweep/contracts';
import { trainerCommand } from './wiring.js';

describe('trainerCommand', () => {
  it('runs this installation’s fersweep train under this node, with the trainer’s V8 options', () => {
    const [node, ...rest] = trainerCommand();
    expect(node).toBe(process.execPath);
    expect(rest.slice(0, TRAINER_NODE_OPTIONS.length)).toEqual([...TRAINER_NODE_OPTIONS]);
    const [bin, command] = rest.slice(TRAINER_NODE_OPTIONS.length);
    expect(existsSync(bin!)).toBe(true);
    expect(command).toBe('train');
  });

  it('passes options node accepts on its command line (V8 refuses them once running, NODE_OPTIONS refuses them)', () => {
    const out = execFileSync(process.execPath, [
      ...TRAINER_NODE_OPTIONS,
      '-e',
      'console.log(process.execArgv.join(" "))',
    ]);
    // node exits with 'bad option' on an option it does not know.
    expect(
      out
        .toString()
        .trim()
        .startsWith(`${TRAINER_NODE_OPTIONS.join(' ')} -e`),
    ).toBe(true);
  });
});
