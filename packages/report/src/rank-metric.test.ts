import { describe, expect, it } from '@jest/globals';
import { formatP } from './rank-metric.js';

describe('formatP', () => {
  it('writes two significant digits, scientific below 0.001', () => {
    expect([formatP(0.125), formatP(0.04), formatP(0.00012), formatP(1), formatP(0)]).toEqual([
      '0.13',
      '0.040',
      '1.2e-4',
      '1.0',
      '0',
    ]);
  });
});
