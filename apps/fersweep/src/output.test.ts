import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cli } from './testing/cli.js';

describe('exit codes: 2 for usage errors, 1 for runtime errors, everywhere', () => {
  it.each([
    [['nope'], /unknown command 'nope'/],
    [['status', '--bogus'], /unknown option '--bogus'/],
    [['models', 'list', 'x', '--bogus'], /unknown option '--bogus'/],
    [['models', 'nope'], /unknown command 'nope'/],
    [['dataset', 'inspect'], /missing required argument 'url'/],
    [['status', '-o', 'xml'], /argument 'xml' is invalid\. Allowed choices are table, json, yaml/],
    [['predict', 'a.png'], /required option '--model <dir\|url>' not specified/],
    [['predict', 'a.png', '--model', 'm', '--detector', 'haar'], /Allowed choices are ssd, tiny/],
    [['predict', 'a.png', '--model', 'm', '--min-score', '2'], /--min-score must be a number in \[0, 1\]/],
    [['report', 'a', 'b'], /too many arguments/],
    [[], /Usage: fersweep/],
  ])('%j exits 2', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('a runtime failure exits 1 with one line', async () => {
    const r = await cli('status', '--api', 'http://127.0.0.1:9', '-o', 'json');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^fersweep: error: cannot reach the coordinator at http:\/\/127\.0\.0\.1:9/);
  });

  it('--help and --version exit 0, and --help documents -o and the exit codes', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/-o json\|yaml\|table/);
    expect(help.out).toMatch(/Exit codes:\n\s+0\s+success\n\s+1\s+runtime failure.*\n\s+2\s+usage error/);
    expect((await cli('--version')).code).toBe(0);
    for (const verb of [['status'], ['submit'], ['report'], ['models', 'list'], ['dataset', 'inspect'], ['predict']]) {
      const r = await cli(...verb, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/-o, --output <format>\s+output format: table/);
      expect(r.out).toMatch(/\(choices: "table", "json", "yaml"\)/);
      expect(r.out).toMatch(/--json\s+same as -o json/);
    }
  });
});

describe('-o on dataset inspect', () => {
  it('prints the manifest as JSON or YAML, --json being -o json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fersweep-output-'));
    try {
      const url = `file://${dir}/d`;
      expect((await cli('dataset', 'synth', '--out', url, '--count', '70')).code).toBe(0);
      const json = await cli('dataset', 'inspect', url, '-o', 'json', '--no-verify');
      const manifest = JSON.parse(json.out) as { format: string; splits: Record<string, { count: number }> };
      expect(manifest.format).toBe('fersweep-dataset/v1');
      expect(parseYaml((await cli('dataset', 'inspect', url, '-o', 'yaml', '--no-verify')).out)).toEqual(manifest);
      expect(JSON.parse((await cli('dataset', 'inspect', url, '--json', '--no-verify')).out)).toEqual(manifest);
      expect((await cli('dataset', 'inspect', url, '-o', 'table', '--no-verify')).out).toMatch(/^dataset d at file:/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
