import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeGpuEnvironment, gpuEnvironment, libraryVersion, NOT_FOUND } from './gpu-diagnostics.js';

describe('GPU diagnostics', () => {
  it('reads the newest libcudart / libcudnn version from the file names', () => {
    const files = [
      'libcudart.so',
      'libcudart.so.11.0',
      'libcudart.so.11.8.89',
      'libcudnn.so.8',
      'libcudnn.so.8.9.6',
      'x',
    ];
    expect(libraryVersion(files, 'libcudart')).toBe('11.8.89');
    expect(libraryVersion(files, 'libcudnn')).toBe('8.9.6');
    expect(libraryVersion(['libcudart.so.11.10.1', 'libcudart.so.11.2.72'], 'libcudart')).toBe('11.10.1');
    expect(libraryVersion(files, 'libnvinfer')).toBeUndefined();
  });

  it('finds the CUDA libraries on LD_LIBRARY_PATH and says "not found" for what is absent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fersweep-cuda-'));
    try {
      for (const f of ['libcudart.so.12.2.140', 'libcudnn.so.9.1.0']) writeFileSync(join(dir, f), '');
      const found = await gpuEnvironment({
        run: () => Promise.reject(new Error('nvidia-smi: not found')),
        env: { LD_LIBRARY_PATH: dir }, // the real directory listing
      });
      expect(found).toEqual({ driver: NOT_FOUND, gpu: NOT_FOUND, cuda: '12.2.140', cudnn: '9.1.0' });
      expect(describeGpuEnvironment(found)).toBe(
        'found: NVIDIA driver not found, GPU not found, CUDA runtime 12.2.140, cuDNN 9.1.0; needed by libtensorflow ' +
          '2.9.1 (tfjs-node-gpu 4.x): driver >= 450.80.02 (CUDA 11), CUDA runtime 11.2+ (libcudart.so.11.0), cuDNN 8.1+ (libcudnn.so.8)',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses nvidia-smi: driver, GPU name and compute capability', async () => {
    const found = await gpuEnvironment({
      run: async () => '550.54.15, NVIDIA H100 80GB HBM3, 9.0\n',
      list: async () => [],
      env: {},
    });
    expect(found).toMatchObject({ driver: '550.54.15', gpu: 'NVIDIA H100 80GB HBM3 (sm_90)' });
  });
});
