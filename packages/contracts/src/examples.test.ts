import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expandTrials, SweepSpec } from './sweep.js';

const dir = join(process.cwd(), 'examples');

describe('examples/', () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))('%s is a valid sweep', (file) => {
    const spec = SweepSpec.parse(parse(readFileSync(join(dir, file), 'utf8')));
    expect(expandTrials(spec).length).toBeGreaterThan(0);
  });
});
