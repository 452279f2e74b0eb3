import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { imageRandom, renderFace } from './index.js';

describe('renderFace, bit for bit', () => {
  // Pinned before drawFace was split into named steps (face-scene.ts, face-features.ts): a dataset
  // synthesised with a seed must stay the same bytes, so every random draw keeps its place.
  it('renders the same 140 faces as ever from the same seeds', () => {
    const hash = createHash('sha256');
    for (let k = 0; k < 140; k++) hash.update(renderFace(k % 7, imageRandom(11, k)));
    expect(hash.digest('hex')).toBe('f0347013da07d0379782c772dae6810865fd9e335929daeb02e38704441cd00a');
  });
});
