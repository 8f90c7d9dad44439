// The ABI's map serialisation ("Serialization" in the spec): a u32 count, then a (key length, value length) u32 pair
// per entry, then each key and value followed by a NUL byte. Little-endian.

export type HeaderPair = [string, string];

type Pairs = readonly (readonly [string | Uint8Array, string | Uint8Array])[];

export function serializePairs(pairs: Pairs): Buffer {
  const out = Buffer.allocUnsafe(pairsSize(pairs));
  writePairs(pairs, out, 0);
  return out;
}

/** Bytes the serialised map takes. */
export function pairsSize(pairs: Pairs): number {
  let size = 4 + pairs.length * 8;
  for (const [k, v] of pairs) size += byteLength(k) + byteLength(v) + 2;
  return size;
}

/** Writes the serialised map at out[at] (pairsSize(pairs) bytes). */
export function writePairs(pairs: Pairs, out: Buffer, at: number): void {
  const count = pairs.length;
  out.writeUInt32LE(count, at);
  let data = at + 4 + count * 8;
  for (let i = 0; i < count; i++) {
    const [k, v] = pairs[i];
    const keyLength = writeBytes(out, k, data);
    out[data + keyLength] = 0;
    data += keyLength + 1;
    const valueLength = writeBytes(out, v, data);
    out[data + valueLength] = 0;
    data += valueLength + 1;
    out.writeUInt32LE(keyLength, at + 4 + i * 8);
    out.writeUInt32LE(valueLength, at + 8 + i * 8);
  }
}

/**
 * A header map about to be serialised on the hot path (every request's headers): every key and value joined with
 * the NULs the format puts after each, so that sizing and encoding take one native call each instead of one per
 * string. Per-string byte lengths are then the string lengths when everything is ASCII (the usual case).
 */
export class SerialisedPairs {
  readonly size: number;
  private readonly joined: string | undefined;
  private readonly ascii: boolean;

  constructor(private readonly pairs: Pairs) {
    let joined: string | undefined = '';
    for (let i = 0; i < pairs.length; i++) {
      const [k, v] = pairs[i];
      if (typeof k !== 'string' || typeof v !== 'string') {
        joined = undefined;
        break;
      }
      joined += `${k}\0${v}\0`;
    }
    const bytes = joined === undefined ? 0 : Buffer.byteLength(joined, 'utf8');
    this.joined = joined;
    this.ascii = joined !== undefined && bytes === joined.length;
    this.size = this.ascii ? 4 + pairs.length * 8 + bytes : pairsSize(pairs);
  }

  write(out: Buffer, at: number): void {
    const pairs = this.pairs;
    if (!this.ascii || this.joined === undefined) {
      writePairs(pairs, out, at);
      return;
    }
    const count = pairs.length;
    out.writeUInt32LE(count, at);
    out.write(this.joined, at + 4 + count * 8, 'utf8');
    for (let i = 0; i < count; i++) {
      out.writeUInt32LE(pairs[i][0].length, at + 4 + i * 8);
      out.writeUInt32LE(pairs[i][1].length, at + 8 + i * 8);
    }
  }
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
