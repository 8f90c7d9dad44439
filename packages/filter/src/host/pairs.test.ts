import { deserializePairs, serializePairs } from './pairs';

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
});
