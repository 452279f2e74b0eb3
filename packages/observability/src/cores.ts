import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Where {@link usableCores} looks; injectable so tests can fake a machine. */
export interface CoreProbe {
  /** Reads a file, or returns undefined when it cannot (absent, unreadable). */
  readFile: (path: string) => string | undefined;
  /** CPUs this process may run on (affinity): `os.availableParallelism()`. */
  availableParallelism: () => number;
}

const nodeProbe: CoreProbe = {
  readFile: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  availableParallelism,
};

/** The cgroup v2 path of this process (`0::/path` in /proc/self/cgroup), or undefined on v1-only hosts. */
function cgroupV2Path(probe: CoreProbe): string | undefined {
  const lines = probe.readFile('/proc/self/cgroup')?.split('\n') ?? [];
  const unified = lines.find((l) => l.startsWith('0::'));
  return unified?.slice(3).trim();
}

/** The cgroup v1 path of the `cpu` controller (`N:cpu,cpuacct:/path`). */
function cgroupV1CpuPath(probe: CoreProbe): string | undefined {
  for (const line of probe.readFile('/proc/self/cgroup')?.split('\n') ?? []) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes('cpu') && path !== undefined) return path.trim();
  }
  return undefined;
}

/** `quota/period` as cores, or undefined for "no limit" / unreadable. */
function ratio(quota: number, period: number): number | undefined {
  return Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : undefined;
}

/** Prefixes of a cgroup path from the leaf up to the root: a parent's quota limits its children too. */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push(parts.slice(0, i).join('/'));
  return out;
}

/**
 * The CPU quota of this process's cgroup in cores (a Kubernetes `limits.cpu`), the tightest along its
 * path: cgroup v2 `cpu.max` ("max 100000" = none), else cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`
 * (−1 = none). Undefined when no quota is set or none can be read.
 */
export function cgroupCpuQuota(probe: CoreProbe = nodeProbe): number | undefined {
  let tightest: number | undefined;
  const take = (cores: number | undefined) => {
    if (cores !== undefined) tightest = tightest === undefined ? cores : Math.min(tightest, cores);
  };
  const v2 = cgroupV2Path(probe);
  if (v2 !== undefined) {
    for (const dir of ancestors(v2)) {
      const text = probe.readFile(`/sys/fs/cgroup/${dir ? `${dir}/` : ''}cpu.max`)?.trim();
      if (text === undefined) continue;
      const [quota, period] = text.split(/\s+/);
      if (quota !== 'max') take(ratio(Number(quota), Number(period ?? 100000)));
    }
    if (tightest !== undefined) return tightest;
  }
  const v1 = cgroupV1CpuPath(probe);
  for (const root of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu']) {
    for (const dir of v1 === undefined ? [''] : ancestors(v1)) {
      const base = `${root}${dir ? `/${dir}` : ''}`;
      const quota = probe.readFile(`${base}/cpu.cfs_quota_us`);
      const period = probe.readFile(`${base}/cpu.cfs_period_us`);
      if (quota !== undefined && period !== undefined) take(ratio(Number(quota), Number(period)));
    }
    if (tightest !== undefined) return tightest;
  }
  return tightest;
}

/**
 * Cores this process may use: the CPUs it may run on (`os.availableParallelism()`, which honours the
 * affinity mask), lowered to the cgroup CPU quota when one is set — rounded down, at least 1, so a
 * container with `limits.cpu: 1500m` counts 1 core and one with `limits.cpu: 4` counts 4.
 */
export function usableCores(probe: CoreProbe = nodeProbe): number {
  const cpus = Math.max(1, probe.availableParallelism());
  const quota = cgroupCpuQuota(probe);
  return quota === undefined ? cpus : Math.max(1, Math.min(cpus, Math.floor(quota)));
}
