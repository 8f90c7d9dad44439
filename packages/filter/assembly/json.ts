// A strict JSON reader (RFC 8259) over UTF-8 bytes. It never traps: malformed input, excessive nesting or any
// other problem yields null, and the caller falls back to what it had.

import { decodeCodePoint, StringBuilder, utf8ToString } from './bytes';

export const J_NULL: u8 = 0;
export const J_BOOL: u8 = 1;
export const J_NUMBER: u8 = 2;
export const J_STRING: u8 = 3;
export const J_ARRAY: u8 = 4;
export const J_OBJECT: u8 = 5;

const MAX_DEPTH: i32 = 64;

export class JValue {
  kind: u8 = J_NULL;
  num: f64 = 0;
  flag: bool = false;
  str: string = '';
  /** Array elements, or object member values. */
  items: Array<JValue> = [];
  /** Object member names, parallel to `items`. */
  keys: Array<string> = [];

  /** Object member by name (the last one wins, as in JavaScript); null when absent or not an object. */
  get(key: string): JValue | null {
    if (this.kind != J_OBJECT) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (unchecked(this.keys[i]) == key) return unchecked(this.items[i]);
    }
    return null;
  }

  isString(): bool {
    return this.kind == J_STRING;
  }
  isNumber(): bool {
    return this.kind == J_NUMBER;
  }
  isObject(): bool {
    return this.kind == J_OBJECT;
  }
  isArray(): bool {
    return this.kind == J_ARRAY;
  }
  isBool(): bool {
    return this.kind == J_BOOL;
  }
}

/** The member as a string, or null when absent or of another type. */
export function getString(obj: JValue | null, key: string): string | null {
  if (obj === null) return null;
  const v = obj.get(key);
  if (v === null || !v.isString()) return null;
  return v.str;
}

/** The member as a finite number, or `fallback`. */
export function getNumber(obj: JValue | null, key: string, fallback: f64): f64 {
  if (obj === null) return fallback;
  const v = obj.get(key);
  if (v === null || !v.isNumber() || !isFinite(v.num)) return fallback;
  return v.num;
}

export function getBool(obj: JValue | null, key: string, fallback: bool): bool {
  if (obj === null) return fallback;
  const v = obj.get(key);
  if (v === null || !v.isBool()) return fallback;
  return v.flag;
}

export function getObject(obj: JValue | null, key: string): JValue | null {
  if (obj === null) return null;
  const v = obj.get(key);
  if (v === null || !v.isObject()) return null;
  return v;
}

export function getArray(obj: JValue | null, key: string): JValue | null {
  if (obj === null) return null;
  const v = obj.get(key);
  if (v === null || !v.isArray()) return null;
  return v;
}

class Reader {
  ptr: usize;
  len: i32;
  pos: i32 = 0;
  failed: bool = false;

  constructor(ptr: usize, len: i32) {
    this.ptr = ptr;
    this.len = len;
  }

  @inline peek(): i32 {
    return this.pos < this.len ? <i32>load<u8>(this.ptr + <usize>this.pos) : -1;
  }

  skipWs(): void {
    while (this.pos < this.len) {
      const c = load<u8>(this.ptr + <usize>this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  fail(): JValue | null {
    this.failed = true;
    return null;
  }

  literal(word: string): bool {
    const n = word.length;
    if (this.pos + n > this.len) return false;
    for (let i = 0; i < n; i++) {
      if (<i32>load<u8>(this.ptr + <usize>(this.pos + i)) != word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  value(depth: i32): JValue | null {
    if (depth > MAX_DEPTH) return this.fail();
    this.skipWs();
    const c = this.peek();
    const v = new JValue();
    if (c == 0x7b) {
      // {
      this.pos++;
      v.kind = J_OBJECT;
      this.skipWs();
      if (this.peek() == 0x7d) {
        this.pos++;
        return v;
      }
      while (true) {
        this.skipWs();
        if (this.peek() != 0x22) return this.fail();
        const key = this.string();
        if (key === null) return this.fail();
        this.skipWs();
        if (this.peek() != 0x3a) return this.fail();
        this.pos++;
        const member = this.value(depth + 1);
        if (member === null) return this.fail();
        v.keys.push(key);
        v.items.push(member);
        this.skipWs();
        const d = this.peek();
        if (d == 0x2c) {
          this.pos++;
          continue;
        }
        if (d == 0x7d) {
          this.pos++;
          return v;
        }
        return this.fail();
      }
    }
    if (c == 0x5b) {
      // [
      this.pos++;
      v.kind = J_ARRAY;
      this.skipWs();
      if (this.peek() == 0x5d) {
        this.pos++;
        return v;
      }
      while (true) {
        const item = this.value(depth + 1);
        if (item === null) return this.fail();
        v.items.push(item);
        this.skipWs();
        const d = this.peek();
        if (d == 0x2c) {
          this.pos++;
          continue;
        }
        if (d == 0x5d) {
          this.pos++;
          return v;
        }
        return this.fail();
      }
    }
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return this.fail();
      v.kind = J_STRING;
      v.str = s;
      return v;
    }
    if (c == 0x74) {
      if (!this.literal('true')) return this.fail();
      v.kind = J_BOOL;
      v.flag = true;
      return v;
    }
    if (c == 0x66) {
      if (!this.literal('false')) return this.fail();
      v.kind = J_BOOL;
      return v;
    }
    if (c == 0x6e) {
      if (!this.literal('null')) return this.fail();
      return v;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = this.pos;
      if (!this.number()) return this.fail();
      v.kind = J_NUMBER;
      v.num = parseFloat(utf8ToString(this.ptr + <usize>start, this.pos - start));
      return v;
    }
    return this.fail();
  }

  digits(): i32 {
    let n = 0;
    while (true) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
      n++;
    }
    return n;
  }

  number(): bool {
    if (this.peek() == 0x2d) this.pos++;
    let c = this.peek();
    if (c == 0x30) {
      this.pos++;
    } else if (c >= 0x31 && c <= 0x39) {
      this.digits();
    } else {
      return false;
    }
    if (this.peek() == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return false;
    }
    c = this.peek();
    if (c == 0x65 || c == 0x45) {
      this.pos++;
      c = this.peek();
      if (c == 0x2b || c == 0x2d) this.pos++;
      if (this.digits() == 0) return false;
    }
    return true;
  }

  hex4(): i32 {
    if (this.pos + 4 > this.len) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = <i32>load<u8>(this.ptr + <usize>(this.pos + i));
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return -1;
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }

  /** Reads a string starting at the opening quote. */
  string(): string | null {
    this.pos++; // opening quote
    const sb = new StringBuilder();
    while (true) {
      if (this.pos >= this.len) return null;
      const c = <i32>load<u8>(this.ptr + <usize>this.pos);
      if (c == 0x22) {
        this.pos++;
        return sb.toString();
      }
      if (c < 0x20) return null;
      if (c == 0x5c) {
        this.pos++;
        const e = this.peek();
        this.pos++;
        if (e == 0x22) sb.pushUnit(0x22);
        else if (e == 0x5c) sb.pushUnit(0x5c);
        else if (e == 0x2f) sb.pushUnit(0x2f);
        else if (e == 0x62) sb.pushUnit(0x08);
        else if (e == 0x66) sb.pushUnit(0x0c);
        else if (e == 0x6e) sb.pushUnit(0x0a);
        else if (e == 0x72) sb.pushUnit(0x0d);
        else if (e == 0x74) sb.pushUnit(0x09);
        else if (e == 0x75) {
          const u = this.hex4();
          if (u < 0) return null;
          // Surrogate pairs arrive as two escapes; each unit is kept, so a pair forms its code point.
          sb.pushUnit(u);
        } else return null;
        continue;
      }
      if (c < 0x80) {
        sb.pushUnit(c);
        this.pos++;
        continue;
      }
      const d = decodeCodePoint(this.ptr + <usize>this.pos, this.len - this.pos);
      sb.pushCodePoint(d >> 3);
      this.pos += d & 7;
    }
  }
}

/** Parses a whole JSON text; null when it is not exactly one valid value. */
export function parseJson(ptr: usize, len: i32): JValue | null {
  if (len <= 0) return null;
  const r = new Reader(ptr, len);
  const v = r.value(0);
  if (v === null || r.failed) return null;
  r.skipWs();
  if (r.pos != r.len) return null;
  return v;
}

export function parseJsonBuffer(buf: ArrayBuffer): JValue | null {
  return parseJson(changetype<usize>(buf), buf.byteLength);
}

export function parseJsonString(s: string): JValue | null {
  return parseJsonBuffer(String.UTF8.encode(s, false));
}
