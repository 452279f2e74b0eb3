import { describe, expect, it } from '@jest/globals';
import { cgroupCpuQuota, usableCores, type CoreProbe } from './cores.js';

/** A machine with `cpus` CPUs and these files. */
function machine(cpus: number, files: Record<string, string>): CoreProbe {
  return { readFile: (path) => files[path], availableParallelism: () => cpus };
}

describe('usableCores', () => {
  it('is the CPU count when no cgroup quota is set (cgroup v2 "max", v1 -1, or no cgroup files)', () => {
    expect(usableCores(machine(8, {}))).toBe(8);
    expect(usableCores(machine(8, { '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBe(
      8,
    );
    expect(
      usableCores(
        machine(8, {
          '/proc/self/cgroup': '1:cpu,cpuacct:/\n',
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
        }),
      ),
    ).toBe(8);
  });

  it("follows a Kubernetes pod's cpu limit through cgroup v2 cpu.max, the tightest along the path, rounded down", () => {
    const pod = {
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '400000 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': 'max 100000\n',
    };
    expect(usableCores(machine(16, pod))).toBe(4);
    expect(cgroupCpuQuota(machine(16, { ...pod, '/sys/fs/cgroup/kubepods/cpu.max': '250000 100000' }))).toBe(2.5);
    expect(usableCores(machine(16, { ...pod, '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '150000 100000' }))).toBe(1);
    expect(usableCores(machine(16, { ...pod, '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '50000 100000' }))).toBe(1);
    // A quota above the CPUs the process may run on does not add any.
    expect(usableCores(machine(2, pod))).toBe(2);
  });

  it('reads cgroup v1 cfs_quota_us / cfs_period_us', () => {
    expect(
      usableCores(
        machine(16, {
          '/proc/self/cgroup': '4:memory:/x\n3:cpu,cpuacct:/docker/abc\n',
          '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '300000\n',
          '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
        }),
      ),
    ).toBe(3);
  });

  it('counts this machine: at least one core, at most its CPUs', () => {
    const n = usableCores();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(n)).toBe(true);
  });
});
