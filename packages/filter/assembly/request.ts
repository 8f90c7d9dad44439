// A read-only view of the request headers as the host serialises them (proxy_get_header_map_pairs):
// u32 count, then count × (u32 name length, u32 value length), then each name and value followed by a NUL.
// Parsed once per request into offsets; nothing is copied unless a header repeats.

import { equalsAsciiLower } from './bytes';
import { CompiledRule, HeaderMatcher, wordOf } from './policy';

const METHOD = String.UTF8.encode(':method', false);
const PATH = String.UTF8.encode(':path', false);

export class RequestView {
  /** Address of the serialised map: the allocator's scratch region, or `keep`. */
  base: usize = 0;
  /** A managed buffer holding the map when it is not in the scratch region. */
  keep: ArrayBuffer | null = null;
  count: i32 = 0;
  nameOff: StaticArray<i32> = new StaticArray<i32>(32);
  nameLen: StaticArray<i32> = new StaticArray<i32>(32);
  valueOff: StaticArray<i32> = new StaticArray<i32>(32);
  valueLen: StaticArray<i32> = new StaticArray<i32>(32);
  methodIndex: i32 = -1;
  pathIndex: i32 = -1;
  /** Length of :path up to (not including) the first '?'; -1 until pathLength() needs it. */
  pathLen: i32 = 0;
  /** First bytes of the method and of the path, for the quick test (policy.ts quickWords). */
  methodWord: u64 = 0;
  pathWord: u64 = 0;
  /** Per header-name slot of the applied rules: where that header is, resolved on first use in each request. */
  private slotStamp: StaticArray<u32> = new StaticArray<u32>(0);
  private slotFirst: StaticArray<i32> = new StaticArray<i32>(0);
  private slotCount: StaticArray<i32> = new StaticArray<i32>(0);
  private slotTotal: StaticArray<i32> = new StaticArray<i32>(0);
  private stamp: u32 = 0;
  private joined: ArrayBuffer = new ArrayBuffer(256);

  /** Loads a serialised header map; malformed input leaves a view with the pairs that were intact. */
  load(base: usize, length: i32): void {
    this.clear(base);
    const total = <i64>length;
    if (total < 4) return;
    const n = <i64>load<u32>(base);
    if (4 + n * 10 > total) return;
    const count = <i32>n;
    if (count > this.nameOff.length) this.grow(count);
    let data: i64 = 4 + n * 8;
    for (let i = 0; i < count; i++) {
      const kl = <i64>load<u32>(base + <usize>(4 + i * 8));
      const vl = <i64>load<u32>(base + <usize>(8 + i * 8));
      if (data + kl + vl + 2 > total) break;
      unchecked((this.nameOff[i] = <i32>data));
      unchecked((this.nameLen[i] = <i32>kl));
      data += kl + 1;
      unchecked((this.valueOff[i] = <i32>data));
      unchecked((this.valueLen[i] = <i32>vl));
      data += vl + 1;
      this.count = i + 1;
    }
    for (let i = 0; i < this.count; i++) {
      const nl = unchecked(this.nameLen[i]);
      const p = base + <usize>unchecked(this.nameOff[i]);
      if (nl == 7 && this.methodIndex < 0 && equalsAsciiLower(p, nl, METHOD)) this.methodIndex = i;
      else if (nl == 5 && this.pathIndex < 0 && equalsAsciiLower(p, nl, PATH)) this.pathIndex = i;
    }
    this.takeWords();
  }

  /**
   * Loads just the value of :path, at its own address, for rules that match no other header: offsets are then
   * addresses (base 0) and the view holds no header pairs. :method may follow with addMethod.
   */
  loadPath(pathPtr: usize, pathLen: i32): void {
    this.clear(0);
    unchecked((this.valueOff[1] = <i32>pathPtr));
    unchecked((this.valueLen[1] = pathLen));
    this.pathIndex = 1;
    this.takeWords();
  }

  /** Adds :method's value, at its own address (length -1: absent), to a view loadPath filled. */
  addMethod(methodPtr: usize, methodLen: i32): void {
    if (methodLen < 0) return;
    unchecked((this.valueOff[0] = <i32>methodPtr));
    unchecked((this.valueLen[0] = methodLen));
    this.methodIndex = 0;
    this.methodWord = wordOf(methodPtr, methodLen);
  }

  /** An empty view over `base`, for a new request. */
  private clear(base: usize): void {
    this.base = base;
    this.keep = null;
    this.count = 0;
    this.methodIndex = -1;
    this.pathIndex = -1;
    this.pathLen = 0;
    this.methodWord = 0;
    this.pathWord = 0;
    this.stamp++;
  }

  /** The path's length without its query string, and the words for the quick test. */
  private takeWords(): void {
    const base = this.base;
    if (this.pathIndex >= 0) {
      // The quick test needs only the bytes of the first word that come before any '?'. The length of the whole
      // path without its query waits for a matcher (pathLength): the usual request, which no quick test lets
      // through, never needs it.
      const vp = base + <usize>unchecked(this.valueOff[this.pathIndex]);
      const vl = unchecked(this.valueLen[this.pathIndex]);
      const head = vl < 8 ? vl : 8;
      const cut = queryAt(vp, 0, head);
      this.pathLen = cut < head || head == vl ? cut : -1;
      this.pathWord = wordOf(vp, cut);
    }
    if (this.methodIndex >= 0)
      this.methodWord = wordOf(
        base + <usize>unchecked(this.valueOff[this.methodIndex]),
        unchecked(this.valueLen[this.methodIndex]),
      );
  }

  /** Sizes the per-name memo for rules matching on `slots` distinct header names. */
  useSlots(slots: i32): void {
    if (this.slotStamp.length >= slots) return;
    this.slotStamp = new StaticArray<u32>(slots);
    this.slotFirst = new StaticArray<i32>(slots);
    this.slotCount = new StaticArray<i32>(slots);
    this.slotTotal = new StaticArray<i32>(slots);
    this.stamp = 0;
  }

  private grow(n: i32): void {
    this.nameOff = new StaticArray<i32>(n);
    this.nameLen = new StaticArray<i32>(n);
    this.valueOff = new StaticArray<i32>(n);
    this.valueLen = new StaticArray<i32>(n);
  }

  /** Whether the rule's method, path and header matchers all accept this request. */
  matches(rule: CompiledRule): bool {
    if (rule.broken) return false;
    const base = this.base;
    const m = rule.method;
    if (m !== null) {
      const ok =
        this.methodIndex >= 0
          ? m.matches(
              base + <usize>unchecked(this.valueOff[this.methodIndex]),
              unchecked(this.valueLen[this.methodIndex]),
            )
          : m.matches(base, 0);
      if (!ok) return false;
    }
    const p = rule.path;
    if (p !== null) {
      const ok =
        this.pathIndex >= 0
          ? p.matches(base + <usize>unchecked(this.valueOff[this.pathIndex]), this.pathLength())
          : p.matches(base, 0);
      if (!ok) return false;
    }
    const headers = rule.headers;
    for (let i = 0; i < headers.length; i++) {
      if (!this.headerMatches(unchecked(headers[i]))) return false;
    }
    return true;
  }

  /** The path's length without its query string (after takeWords, with a path). */
  private pathLength(): i32 {
    if (this.pathLen < 0) {
      // takeWords found no '?' in the first word.
      const vp = this.base + <usize>unchecked(this.valueOff[this.pathIndex]);
      this.pathLen = queryAt(vp, 8, unchecked(this.valueLen[this.pathIndex]));
    }
    return this.pathLen;
  }

  private headerMatches(h: HeaderMatcher): bool {
    const base = this.base;
    const nameLength = h.name.byteLength;
    const slot = h.slot;
    if (slot < 0 || slot >= this.slotStamp.length || this.stamp == 0) return false;
    if (unchecked(this.slotStamp[slot]) != this.stamp) {
      let first = -1;
      let occurrences = 0;
      let total = 0;
      for (let i = 0; i < this.count; i++) {
        if (unchecked(this.nameLen[i]) != nameLength) continue;
        if (!equalsAsciiLower(base + <usize>unchecked(this.nameOff[i]), nameLength, h.name)) continue;
        if (first < 0) first = i;
        occurrences++;
        total += unchecked(this.valueLen[i]);
      }
      unchecked((this.slotStamp[slot] = this.stamp));
      unchecked((this.slotFirst[slot] = first));
      unchecked((this.slotCount[slot] = occurrences));
      unchecked((this.slotTotal[slot] = total));
    }
    const first = unchecked(this.slotFirst[slot]);
    const occurrences = unchecked(this.slotCount[slot]);
    const total = unchecked(this.slotTotal[slot]);
    if (occurrences == 0) return false; // a missing header never matches
    if (occurrences == 1) {
      return h.value.matches(base + <usize>unchecked(this.valueOff[first]), unchecked(this.valueLen[first]));
    }
    // Repeated header: values joined with ",".
    const size = total + occurrences - 1;
    if (this.joined.byteLength < size) this.joined = new ArrayBuffer(size);
    const out = changetype<usize>(this.joined);
    let at = 0;
    let seen = 0;
    for (let i = first; i < this.count; i++) {
      if (unchecked(this.nameLen[i]) != nameLength) continue;
      if (!equalsAsciiLower(base + <usize>unchecked(this.nameOff[i]), nameLength, h.name)) continue;
      if (seen++ > 0) {
        store<u8>(out + <usize>at, 0x2c);
        at++;
      }
      const vl = unchecked(this.valueLen[i]);
      memory.copy(out + <usize>at, base + <usize>unchecked(this.valueOff[i]), <usize>vl);
      at += vl;
    }
    return h.value.matches(out, at);
  }
}

/** Offset of the first '?' in [from, end) of the bytes at `ptr`, or `end` when there is none. */
function queryAt(ptr: usize, from: i32, end: i32): i32 {
  for (let j = from; j < end; j++) if (load<u8>(ptr + <usize>j) == 0x3f) return j;
  return end;
}
