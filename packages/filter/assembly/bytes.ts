// Byte helpers that never trap: every read is bounds-checked by its caller's length, invalid UTF-8 becomes U+FFFD.

/** Decodes one UTF-8 code point at `ptr` (at most `avail` bytes). Returns `(codePoint << 3) | width`; an invalid or
 *  truncated sequence yields U+FFFD with width 1, so every byte is consumed exactly once. */
export function decodeCodePoint(ptr: usize, avail: i32): i32 {
  const REPLACEMENT: i32 = (0xfffd << 3) | 1;
  const b0 = <i32>load<u8>(ptr);
  if (b0 < 0x80) return (b0 << 3) | 1;
  if (b0 < 0xc2 || b0 > 0xf4) return REPLACEMENT;
  if (b0 < 0xe0) {
    if (avail < 2) return REPLACEMENT;
    const b1 = <i32>load<u8>(ptr, 1);
    if ((b1 & 0xc0) != 0x80) return REPLACEMENT;
    return ((((b0 & 0x1f) << 6) | (b1 & 0x3f)) << 3) | 2;
  }
  if (b0 < 0xf0) {
    if (avail < 3) return REPLACEMENT;
    const b1 = <i32>load<u8>(ptr, 1);
    const b2 = <i32>load<u8>(ptr, 2);
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 == 0xe0) lo = 0xa0;
    else if (b0 == 0xed) hi = 0x9f; // no surrogates
    if (b1 < lo || b1 > hi || (b2 & 0xc0) != 0x80) return REPLACEMENT;
    return ((((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)) << 3) | 3;
  }
  if (avail < 4) return REPLACEMENT;
  const b1 = <i32>load<u8>(ptr, 1);
  const b2 = <i32>load<u8>(ptr, 2);
  const b3 = <i32>load<u8>(ptr, 3);
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 == 0xf0) lo = 0x90;
  else if (b0 == 0xf4) hi = 0x8f;
  if (b1 < lo || b1 > hi || (b2 & 0xc0) != 0x80 || (b3 & 0xc0) != 0x80) return REPLACEMENT;
  return ((((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)) << 3) | 4;
}

/** Growable UTF-16 code unit buffer, for building strings without quadratic concatenation. */
export class StringBuilder {
  private units: StaticArray<u16> = new StaticArray<u16>(16);
  private n: i32 = 0;

  pushUnit(u: i32): void {
    if (this.n == this.units.length) {
      const bigger = new StaticArray<u16>(this.units.length << 1);
      memory.copy(changetype<usize>(bigger), changetype<usize>(this.units), (<usize>this.n) << 1);
      this.units = bigger;
    }
    unchecked((this.units[this.n++] = <u16>u));
  }

  pushCodePoint(cp: i32): void {
    if (cp < 0x10000) {
      this.pushUnit(cp);
    } else {
      const v = cp - 0x10000;
      this.pushUnit(0xd800 | (v >> 10));
      this.pushUnit(0xdc00 | (v & 0x3ff));
    }
  }

  get length(): i32 {
    return this.n;
  }

  toString(): string {
    return String.UTF16.decodeUnsafe(changetype<usize>(this.units), (<usize>this.n) << 1);
  }
}

/** UTF-8 bytes to a string; invalid sequences become U+FFFD. */
export function utf8ToString(ptr: usize, len: i32): string {
  const sb = new StringBuilder();
  let i = 0;
  while (i < len) {
    const d = decodeCodePoint(ptr + <usize>i, len - i);
    sb.pushCodePoint(d >> 3);
    i += d & 7;
  }
  return sb.toString();
}

export function bufferToString(buf: ArrayBuffer): string {
  return utf8ToString(changetype<usize>(buf), buf.byteLength);
}

/** The UTF-8 bytes of `s` (no terminator). */
export function utf8Bytes(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false);
}

/** ASCII lower-case copy of a byte string (header names). */
export function asciiLower(buf: ArrayBuffer): ArrayBuffer {
  const out = new ArrayBuffer(buf.byteLength);
  const src = changetype<usize>(buf);
  const dst = changetype<usize>(out);
  for (let i = 0; i < buf.byteLength; i++) {
    let b = load<u8>(src + <usize>i);
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    store<u8>(dst + <usize>i, b);
  }
  return out;
}

/** True when the bytes at `ptr` equal `lower` ignoring ASCII case (`lower` is already lower-case). */
export function equalsAsciiLower(ptr: usize, len: i32, lower: ArrayBuffer): bool {
  if (len != lower.byteLength) return false;
  const l = changetype<usize>(lower);
  for (let i = 0; i < len; i++) {
    let b = load<u8>(ptr + <usize>i);
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (b != load<u8>(l + <usize>i)) return false;
  }
  return true;
}

const HEX = '0123456789ABCDEF';

/** Percent-encodes a string for a URL query value: everything but ALPHA / DIGIT / "-" / "." / "_" / "~". */
export function percentEncode(s: string): string {
  const bytes = utf8Bytes(s);
  const p = changetype<usize>(bytes);
  const sb = new StringBuilder();
  for (let i = 0; i < bytes.byteLength; i++) {
    const b = <i32>load<u8>(p + <usize>i);
    const plain =
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b == 0x2d ||
      b == 0x2e ||
      b == 0x5f ||
      b == 0x7e;
    if (plain) {
      sb.pushUnit(b);
    } else {
      sb.pushUnit(0x25);
      sb.pushUnit(HEX.charCodeAt(b >> 4));
      sb.pushUnit(HEX.charCodeAt(b & 15));
    }
  }
  return sb.toString();
}

/** A header value safe to hand to the proxy: control characters become "_". */
export function headerSafe(s: string): string {
  const sb = new StringBuilder();
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    sb.pushUnit(u < 0x20 || u == 0x7f ? 0x5f : u);
  }
  return sb.toString();
}
