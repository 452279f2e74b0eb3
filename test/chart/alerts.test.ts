/**
 * The alerts as the chart renders them (release `fs`, namespace `sweeps`), unit-tested by
 * `promtool test rules` with test/chart/alerts.test.yaml: each alert fires with the labels it
 * promises (the sweep, the namespace) and only for its own install's namespace.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { ROOT, render } from './render.js';

const run = promisify(execFile);
const TESTS = join(ROOT, 'test/chart/alerts.test.yaml');

interface RuleGroups {
  groups: { rules: { alert: string }[] }[];
}
interface UnitTests {
  tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

async function renderedRules(): Promise<RuleGroups> {
  const objects = await render('minimal-values.yaml', ['--set', 'metrics.prometheusRule.enabled=true']);
  return objects.find((o) => o.kind === 'PrometheusRule')!.spec as RuleGroups;
}

describe('alerts (promtool test rules)', () => {
  it('every alert has a unit test in which it fires', async () => {
    const alerts = (await renderedRules()).groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toHaveLength(6);
    const { tests } = parse(readFileSync(TESTS, 'utf8')) as UnitTests;
    const firing = new Set(
      tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    expect(alerts.filter((a) => !firing.has(a))).toEqual([]);
  });

  it('promtool test rules passes on the rendered rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fersweep-alerts-'));
    try {
      writeFileSync(join(dir, 'rules.yaml'), stringify(await renderedRules()));
      copyFileSync(TESTS, join(dir, 'alerts.test.yaml'));
      const { code, out } = await run('promtool', ['test', 'rules', join(dir, 'alerts.test.yaml')]).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
      expect(out).toMatch(/SUCCESS/);
      expect(out).not.toMatch(/FAILED/);
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
