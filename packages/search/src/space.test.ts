import { describe, expect, it } from '@jest/globals';
import { gridPoints, gridValues, randomPoint } from './sample.js';
import { parseSpace, SearchSpaceError, toInternal } from './space.js';

const errorOf = (input: unknown): SearchSpaceError => {
  try {
    parseSpace(input);
  } catch (e) {
    if (e instanceof SearchSpaceError) return e;
    throw e;
  }
  throw new Error('parsed without error');
};

describe('parameter declarations', () => {
  it('accepts float (linear, log, stepped), int (linear, log, stepped), categorical and plain lists', () => {
    const space = parseSpace({
      lr: { type: 'float', min: 1e-5, max: 0.1, log: true },
      dropout: { type: 'float', min: 0, max: 0.5, step: 0.1 },
      width: { type: 'int', min: 8, max: 256, log: true },
      batch: { type: 'int', min: 16, max: 128, step: 16 },
      opt: { type: 'categorical', values: ['adam', 'sgd'] },
      augment: [true, false],
    });
    expect(space.augment).toEqual({ type: 'categorical', values: [true, false] });
    expect(space.width).toEqual({ type: 'int', min: 8, max: 256, log: true, step: 1 });
    expect(space.lr).toEqual({ type: 'float', min: 1e-5, max: 0.1, log: true });
  });

  it.each([
    [{ lr: { type: 'float', min: 0.1, max: 0.01 } }, 'lr.max', 'max (0.01) must exceed min (0.1)'],
    [{ lr: { type: 'float', min: 0, max: 1, log: true } }, 'lr.min', 'a log-scale range needs min > 0'],
    [{ lr: { type: 'float', min: 0.1, max: 1, log: true, step: 0.1 } }, 'lr.step', 'cannot be combined'],
    [{ d: { type: 'float', min: 0, max: 1, step: 0.3 } }, 'd.step', 'use max 0.9'],
    [{ w: { type: 'int', min: 8, max: 100, step: 16 } }, 'w.step', 'use max 88'],
    [{ w: { type: 'int', min: 0, max: 100, log: true } }, 'w.min', 'min ≥ 1'],
    [{ w: { type: 'int', min: 1.5, max: 100 } }, 'w.min', 'integer'],
    [{ o: { type: 'categorical', values: ['a', 'a'] } }, 'o.values', 'distinct'],
    [{ o: [] }, 'o.values', ''],
    [{ o: { type: 'choice', values: [1] } }, 'o.type', ''],
    [{ lr: { type: 'float', min: 0, max: 1, lgo: true } }, 'lr', 'lgo'],
    [{}, '', 'declare at least one parameter'],
  ])('rejects %j, naming %s', (input, path, message) => {
    const e = errorOf(input);
    const issue = e.issues.find((i) => i.path === path);
    expect(issue).toBeDefined();
    expect(e.message).toContain(message);
    expect(e.name).toBe('SearchSpaceError');
  });

  it('refuses values outside a declaration', () => {
    const space = parseSpace({ lr: { type: 'float', min: 0.001, max: 0.1 }, o: ['a', 'b'] });
    expect(() => toInternal(space.lr!, 0.5, 'lr')).toThrow(/lr: 0.5 is outside \[0.001, 0.1\]/);
    expect(() => toInternal(space.o!, 'c', 'o')).toThrow(/"c" is not one of/);
    expect(toInternal(space.o!, 'b')).toBe(1);
  });
});

describe('grid and random sampling', () => {
  it('expands a grid over lists, ints and stepped floats, last name fastest', () => {
    const space = parseSpace({
      b: [1, 2],
      a: { type: 'int', min: 1, max: 5, step: 2 },
      c: { type: 'float', min: 0, max: 0.3, step: 0.1 },
    });
    expect(gridValues(space.c!)).toEqual([0, 0.1, 0.2, 0.3]);
    const points = gridPoints(space);
    expect(points).toHaveLength(24);
    expect(points.slice(0, 2)).toEqual([
      { a: 1, b: 1, c: 0 },
      { a: 1, b: 1, c: 0.1 },
    ]);
  });

  it('refuses a grid over a continuous range, saying what to do', () => {
    const space = parseSpace({ lr: { type: 'float', min: 1e-4, max: 1e-1, log: true } });
    expect(() => gridPoints(space)).toThrow(
      /lr: grid search needs a finite set of values: give the float range a step/,
    );
  });

  it('draws random points inside the declarations, as a pure function of (seed, k)', () => {
    const space = parseSpace({
      lr: { type: 'float', min: 1e-5, max: 0.1, log: true },
      w: { type: 'int', min: 8, max: 256, log: true },
      b: { type: 'int', min: 16, max: 128, step: 16 },
      o: ['x', 'y', 'z'],
    });
    const points = Array.from({ length: 300 }, (_, k) => randomPoint(space, 11, k));
    for (const p of points)
      for (const [name, v] of Object.entries(p)) expect(() => toInternal(space[name]!, v, name)).not.toThrow();
    expect(points.every((p) => Number.isInteger(p.w) && (p.b as number) % 16 === 0)).toBe(true);
    expect(new Set(points.map((p) => p.o)).size).toBe(3);
    // Log-uniform: about as many draws below 1e-3 as above 1e-3 (three decades vs two).
    const low = points.filter((p) => (p.lr as number) < 1e-3).length;
    expect(low).toBeGreaterThan(140);
    expect(low).toBeLessThan(220);
    expect(randomPoint(space, 11, 7)).toEqual(points[7]);
    expect(randomPoint(space, 12, 7)).not.toEqual(points[7]);
  });
});
