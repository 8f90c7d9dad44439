// The ABI's map serialisation ("Serialization" in the spec): a u32 count, then a (key length, value length) u32 pair
// per entry, then each key and value followed by a NUL byte. Little-endian.

export type HeaderPair = [string, string];

export function serializePairs(pairs: readonly (readonly [string | Uint8Array, string | Uint8Array])[]): Buffer {
  const encoded = pairs.map(([k, v]) => [toBytes(k), toBytes(v)] as const);
  let size = 4 + encoded.length * 8;
  for (const [k, v] of encoded) size += k.length + v.length + 2;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(encoded.length, 0);
  let data = 4 + encoded.length * 8;
  encoded.forEach(([k, v], i) => {
    out.writeUInt32LE(k.length, 4 + i * 8);
    out.writeUInt32LE(v.length, 8 + i * 8);
    out.set(k, data);
    data += k.length + 1;
    out.set(v, data);
    data += v.length + 1;
  });
  return out;
}

/** Returns undefined when the bytes are not a well-formed map. */
export function deserializePairs(bytes: Uint8Array): HeaderPair[] | undefined {
  if (bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0)) return [];
  if (bytes.length < 4) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.readUInt32LE(0);
  let data = 4 + count * 8;
  if (data > view.length) return undefined;
  const pairs: HeaderPair[] = [];
  for (let i = 0; i < count; i++) {
    const keyLength = view.readUInt32LE(4 + i * 8);
    const valueLength = view.readUInt32LE(8 + i * 8);
    if (data + keyLength + valueLength + 2 > view.length) return undefined;
    const key = view.toString('utf8', data, data + keyLength);
    data += keyLength + 1;
    const value = view.toString('utf8', data, data + valueLength);
    data += valueLength + 1;
    pairs.push([key, value]);
  }
  return pairs;
}

function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}
