import { describe, expect, it } from '@jest/globals';
import { tableFromIPC } from 'apache-arrow';
import { decodeShard, encodeShard } from './shards.js';

function columns(count: number) {
  const pixels = new Uint8Array(count * 48 * 48);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 256;
  return {
    count,
    height: 48,
    width: 48,
    labels: Uint8Array.from({ length: count }, (_, i) => i % 7),
    pixels,
    indices: Uint32Array.from({ length: count }, (_, i) => 1000 + i),
  };
}

describe('Arrow IPC shards', () => {
  it('round-trips labels, pixels and source indices', () => {
    const c = columns(37);
    const back = decodeShard(encodeShard(c), 'train-00000');
    expect(back.count).toBe(37);
    expect(Buffer.from(back.labels).equals(Buffer.from(c.labels))).toBe(true);
    expect(Buffer.from(back.pixels).equals(Buffer.from(c.pixels))).toBe(true);
    expect([...back.indices]).toEqual([...c.indices]);
  });

  it('is a plain Arrow file any Arrow reader can open, with a documented schema', () => {
    const table = tableFromIPC(encodeShard(columns(3)));
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'label:Uint8',
      'pixels:FixedSizeList[2304]<Uint8>',
      'index:Uint32',
    ]);
    expect(table.schema.metadata.get('fersweep.format')).toBe('fersweep-shard/v1');
    expect(table.getChild('label')?.get(2)).toBe(2);
  });

  it('handles an empty shard', () => {
    expect(decodeShard(encodeShard(columns(0)), 'x').count).toBe(0);
  });

  it('refuses bytes that are not a shard, naming it', () => {
    expect(() => decodeShard(new Uint8Array([1, 2, 3]), 'shards/test-00001.arrow')).toThrow(
      /shards\/test-00001\.arrow/,
    );
  });
});
