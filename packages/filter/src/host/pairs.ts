// The ABI's map serialisation ("Serialization" in the spec): a u32 count, then a (key length, value length) u32 pair
// per entry, then each key and value followed by a NUL byte. Little-endian.

export type HeaderPair = [string, string];

export function serializePairs(pairs: readonly (readonly [string | Uint8Array, string | Uint8Array])[]): Buffer {
  // Hot on every request (proxy_get_header_map_pairs): size first, then one allocation and in-place writes.
  const count = pairs.length;
  let size = 4 + count * 8;
  for (const [k, v] of pairs) size += byteLength(k) + byteLength(v) + 2;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(count, 0);
  let data = 4 + count * 8;
  for (let i = 0; i < count; i++) {
    const [k, v] = pairs[i];
    const keyLength = writeBytes(out, k, data);
    out[data + keyLength] = 0;
    data += keyLength + 1;
    const valueLength = writeBytes(out, v, data);
    out[data + valueLength] = 0;
    data += valueLength + 1;
    out.writeUInt32LE(keyLength, 4 + i * 8);
    out.writeUInt32LE(valueLength, 8 + i * 8);
  }
  return out;
}

function byteLength(value: string | Uint8Array): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

function writeBytes(out: Buffer, value: string | Uint8Array, offset: number): number {
  if (typeof value === 'string') return out.write(value, offset, 'utf8');
  out.set(value, offset);
  return value.length;
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
