import { deserializePairs, SerialisedPairs, serializePairs } from './pairs';

describe('map serialisation', () => {
  it("encodes the spec's example byte for byte", () => {
    const bytes = serializePairs([
      ['a', '1'],
      ['b', '22'],
    ]);
    expect([...bytes]).toEqual([
      2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0, 0x31, 0, 0x62, 0, 0x32, 0x32, 0,
    ]);
    expect(deserializePairs(bytes)).toEqual([
      ['a', '1'],
      ['b', '22'],
    ]);
  });

  it('reads both empty forms and rejects truncated input', () => {
    expect(deserializePairs(new Uint8Array(0))).toEqual([]);
    expect(deserializePairs(new Uint8Array([0]))).toEqual([]);
    expect(deserializePairs(serializePairs([]))).toEqual([]);
    const bytes = serializePairs([['key', 'value']]);
    expect(deserializePairs(bytes.subarray(0, bytes.length - 2))).toBeUndefined();
    expect(deserializePairs(new Uint8Array([5, 0, 0, 0]))).toBeUndefined();
  });

  /** What the hot path writes at an offset inside a larger buffer, as a standalone copy. */
  function written(pairs: ConstructorParameters<typeof SerialisedPairs>[0]): Buffer {
    const serialised = new SerialisedPairs(pairs);
    const out = Buffer.alloc(serialised.size + 16, 0xee);
    serialised.write(out, 7);
    expect(out.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
    expect(out.subarray(7 + serialised.size).every((b) => b === 0xee)).toBe(true);
    return out.subarray(7, 7 + serialised.size);
  }

  it.each([
    [
      'ASCII (the joined fast path)',
      [
        [':path', '/a?b=1'],
        ['x-id', 'abc'],
        ['empty', ''],
      ],
    ],
    [
      'multi-byte values (per-string lengths)',
      [
        ['x-name', 'zoë'],
        ['x-emoji', '😀'],
        [':path', '/é'],
      ],
    ],
    [
      'a NUL inside a value',
      [
        ['x-nul', 'a\0b'],
        ['k', 'v'],
      ],
    ],
    [
      'byte values (properties)',
      [
        ['bytes', Buffer.from([0xff, 0x00, 0x41])],
        ['s', 'text'],
      ],
    ],
    ['no pairs', []],
  ] as [string, [string | Uint8Array, string | Uint8Array][]][])(
    'the hot-path writer gives the same bytes as serializePairs: %s',
    (_label, pairs) => {
      expect([...written(pairs)]).toEqual([...serializePairs(pairs)]);
    },
  );
});
