// The hfi regex dialect (docs/regex.md): an RE2-style subset compiled to a small instruction program and run by a
// Thompson-NFA simulation (Pike VM without captures), so matching is linear in the input for every pattern.
// Unanchored search over Unicode code points of UTF-8 input.

import { decodeCodePoint } from './bytes';

export const MAX_PATTERN_LENGTH: i32 = 1024;
export const MAX_PROGRAM_SIZE: i32 = 10000;
export const MAX_REPEAT: i32 = 1000;
const MAX_CODE_POINT: i32 = 0x10ffff;

// AST node kinds
const N_EMPTY: i32 = 0;
const N_LIT: i32 = 1;
const N_ANY: i32 = 2;
const N_CLASS: i32 = 3;
const N_BOL: i32 = 4;
const N_EOL: i32 = 5;
const N_CONCAT: i32 = 6;
const N_ALT: i32 = 7;
const N_REPEAT: i32 = 8;

// Instructions
const OP_CHAR: i32 = 0;
const OP_ANY: i32 = 1; // any code point but \n
const OP_CLASS: i32 = 2;
const OP_SPLIT: i32 = 3;
const OP_JMP: i32 = 4;
const OP_BOL: i32 = 5;
const OP_EOL: i32 = 6;
const OP_MATCH: i32 = 7;

class Node {
  kind: i32;
  cp: i32 = 0;
  ranges: StaticArray<i32> | null = null;
  children: Array<Node> = [];
  min: i32 = 0;
  max: i32 = 0; // -1: unbounded

  constructor(kind: i32) {
    this.kind = kind;
  }
}

function lit(cp: i32): Node {
  const n = new Node(N_LIT);
  n.cp = cp;
  return n;
}

function classNode(ranges: StaticArray<i32>): Node {
  const n = new Node(N_CLASS);
  n.ranges = ranges;
  return n;
}

function seq(items: Array<Node>): Node {
  if (items.length == 0) return new Node(N_EMPTY);
  if (items.length == 1) return items[0];
  const n = new Node(N_CONCAT);
  n.children = items;
  return n;
}

// ---- character classes: sorted, merged [lo, hi] pairs ----

function normalizeRanges(raw: Array<i32>, negate: bool): StaticArray<i32> {
  const count = raw.length >> 1;
  // insertion sort by low end (classes are small)
  for (let i = 1; i < count; i++) {
    const lo = raw[i * 2];
    const hi = raw[i * 2 + 1];
    let j = i - 1;
    while (j >= 0 && raw[j * 2] > lo) {
      raw[(j + 1) * 2] = raw[j * 2];
      raw[(j + 1) * 2 + 1] = raw[j * 2 + 1];
      j--;
    }
    raw[(j + 1) * 2] = lo;
    raw[(j + 1) * 2 + 1] = hi;
  }
  let merged = new Array<i32>();
  for (let i = 0; i < count; i++) {
    const lo = raw[i * 2];
    const hi = raw[i * 2 + 1];
    const m = merged.length;
    if (m > 0 && lo <= merged[m - 1] + 1) {
      if (hi > merged[m - 1]) merged[m - 1] = hi;
    } else {
      merged.push(lo);
      merged.push(hi);
    }
  }
  if (negate) {
    const out = new Array<i32>();
    let next = 0;
    for (let i = 0; i < merged.length; i += 2) {
      if (merged[i] > next) {
        out.push(next);
        out.push(merged[i] - 1);
      }
      next = merged[i + 1] + 1;
    }
    if (next <= MAX_CODE_POINT) {
      out.push(next);
      out.push(MAX_CODE_POINT);
    }
    merged = out;
  }
  const result = new StaticArray<i32>(merged.length);
  for (let i = 0; i < merged.length; i++) result[i] = merged[i];
  return result;
}

/** Adds the ranges of \d \w \s (or their complements) to `out`. */
function addPerlClass(letter: i32, out: Array<i32>): void {
  const base = new Array<i32>();
  const lower = letter | 0x20;
  if (lower == 0x64) {
    base.push(0x30);
    base.push(0x39);
  } else if (lower == 0x77) {
    base.push(0x30);
    base.push(0x39);
    base.push(0x41);
    base.push(0x5a);
    base.push(0x5f);
    base.push(0x5f);
    base.push(0x61);
    base.push(0x7a);
  } else {
    // \s is RE2's [\t\n\f\r ]
    base.push(0x09);
    base.push(0x0a);
    base.push(0x0c);
    base.push(0x0d);
    base.push(0x20);
    base.push(0x20);
  }
  const ranges = normalizeRanges(base, letter != lower);
  for (let i = 0; i < ranges.length; i++) out.push(ranges[i]);
}

// ---- parser ----

class Frame {
  alternatives: Array<Node> = [];
  items: Array<Node> = [];
}

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function isNameStart(c: i32): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

function isNameChar(c: i32): bool {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

class Parser {
  cps: Array<i32>;
  pos: i32 = 0;
  error: string = '';
  names: Array<string> = [];

  constructor(cps: Array<i32>) {
    this.cps = cps;
  }

  @inline at(i: i32): i32 {
    return i < this.cps.length ? unchecked(this.cps[i]) : -1;
  }

  fail(msg: string): Node | null {
    if (this.error.length == 0) this.error = msg + ' at offset ' + this.pos.toString();
    return null;
  }

  /** Escape after a backslash, outside or inside a class. Returns a literal code point (>= 0), or -2 when a Perl
   *  class (\d \w \s and complements) was appended to `classOut`, or -1 on error. */
  escape(classOut: Array<i32>): i32 {
    const c = this.at(this.pos);
    if (c < 0) {
      this.fail('trailing backslash');
      return -1;
    }
    this.pos++;
    if (c == 0x64 || c == 0x44 || c == 0x77 || c == 0x57 || c == 0x73 || c == 0x53) {
      addPerlClass(c, classOut);
      return -2;
    }
    if (c == 0x74) return 0x09;
    if (c == 0x6e) return 0x0a;
    if (c == 0x72) return 0x0d;
    if (c == 0x66) return 0x0c;
    if (c == 0x76) return 0x0b;
    if (c == 0x78) {
      const h1 = hexValue(this.at(this.pos));
      const h2 = hexValue(this.at(this.pos + 1));
      if (h1 < 0 || h2 < 0) {
        this.fail('\\x needs exactly two hex digits');
        return -1;
      }
      this.pos += 2;
      return (h1 << 4) | h2;
    }
    // printable ASCII that is not a letter or digit (space included) stands for itself
    if (c >= 0x20 && c <= 0x7e && !isNameChar(c)) return c;
    if (c == 0x5f) return c;
    this.pos--;
    this.fail('unsupported escape \\' + String.fromCodePoint(c));
    return -1;
  }

  parseClass(): Node | null {
    // at '['
    this.pos++;
    let negate = false;
    if (this.at(this.pos) == 0x5e) {
      negate = true;
      this.pos++;
    }
    const raw = new Array<i32>();
    let first = true;
    while (true) {
      const c = this.at(this.pos);
      if (c < 0) return this.fail('missing ] in character class');
      if (c == 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      const lo = this.classAtom(raw);
      if (lo == -1) return null;
      if (lo == -2) continue; // \d and friends: never a range end point, a following "-" is literal
      if (this.at(this.pos) == 0x2d && this.at(this.pos + 1) != 0x5d && this.at(this.pos + 1) >= 0) {
        this.pos++; // '-'
        const scratch = new Array<i32>();
        const hi = this.classAtom(scratch);
        if (hi == -1) return null;
        if (hi == -2) return this.fail('a class escape cannot end a range');
        if (hi < lo) return this.fail('invalid character class range');
        raw.push(lo);
        raw.push(hi);
      } else {
        raw.push(lo);
        raw.push(lo);
      }
    }
    return classNode(normalizeRanges(raw, negate));
  }

  /** One class member: a code point (>= 0), -2 after appending a Perl class to `raw`, -1 on error. */
  classAtom(raw: Array<i32>): i32 {
    const c = this.at(this.pos);
    if (c == 0x5c) {
      this.pos++;
      return this.escape(raw);
    }
    if (c == 0x5b && this.at(this.pos + 1) == 0x3a) {
      // POSIX classes such as [[:alpha:]] are not part of the dialect; any other "[" is literal
      let p = this.pos + 2;
      while (
        (this.at(p) >= 0x41 && this.at(p) <= 0x5a) ||
        (this.at(p) >= 0x61 && this.at(p) <= 0x7a) ||
        this.at(p) == 0x5e
      )
        p++;
      if (this.at(p) == 0x3a && this.at(p + 1) == 0x5d) {
        this.fail('POSIX classes are not supported');
        return -1;
      }
    }
    this.pos++;
    return c;
  }

  /** Reads `{n}`, `{n,}` or `{n,m}` at '{'; sets min/max on success. */
  parseCount(out: Node): bool {
    let p = this.pos + 1;
    let n = 0;
    let digits = 0;
    while (this.at(p) >= 0x30 && this.at(p) <= 0x39) {
      n = n * 10 + (this.at(p) - 0x30);
      if (n > MAX_REPEAT) {
        this.fail('repetition count over ' + MAX_REPEAT.toString());
        return false;
      }
      p++;
      digits++;
    }
    if (digits == 0) {
      this.fail('invalid repetition (write \\{ for a literal brace)');
      return false;
    }
    let m = n;
    if (this.at(p) == 0x2c) {
      p++;
      if (this.at(p) == 0x7d) {
        m = -1;
      } else {
        m = 0;
        digits = 0;
        while (this.at(p) >= 0x30 && this.at(p) <= 0x39) {
          m = m * 10 + (this.at(p) - 0x30);
          if (m > MAX_REPEAT) {
            this.fail('repetition count over ' + MAX_REPEAT.toString());
            return false;
          }
          p++;
          digits++;
        }
        if (digits == 0) {
          this.fail('invalid repetition (write \\{ for a literal brace)');
          return false;
        }
      }
    }
    if (this.at(p) != 0x7d) {
      this.fail('invalid repetition (write \\{ for a literal brace)');
      return false;
    }
    if (m >= 0 && m < n) {
      this.fail('invalid repetition range {' + n.toString() + ',' + m.toString() + '}');
      return false;
    }
    this.pos = p + 1;
    out.min = n;
    out.max = m;
    return true;
  }

  parse(): Node | null {
    const stack: Array<Frame> = [new Frame()];
    let lastWasQuantifier = false;
    while (this.pos < this.cps.length) {
      const c = unchecked(this.cps[this.pos]);
      const top = stack[stack.length - 1];
      if (c == 0x2a || c == 0x2b || c == 0x3f || c == 0x7b) {
        // quantifier
        if (lastWasQuantifier) return this.fail('invalid nested repetition operator');
        const items = top.items;
        if (items.length == 0) return this.fail('missing argument to repetition operator');
        const target = items[items.length - 1];
        const rep = new Node(N_REPEAT);
        rep.children = [target];
        if (c == 0x7b) {
          if (!this.parseCount(rep)) return null;
        } else {
          this.pos++;
          rep.min = c == 0x2b ? 1 : 0;
          rep.max = c == 0x3f ? 1 : -1;
        }
        if (this.at(this.pos) == 0x3f) this.pos++; // lazy: same yes/no answer
        items[items.length - 1] = rep;
        lastWasQuantifier = true;
        continue;
      }
      lastWasQuantifier = false;
      if (c == 0x28) {
        // group
        this.pos++;
        if (this.at(this.pos) == 0x3f) {
          const d = this.at(this.pos + 1);
          if (d == 0x3a) {
            this.pos += 2;
          } else if (d == 0x50 || d == 0x3c) {
            let p = this.pos + (d == 0x50 ? 2 : 1);
            if (d == 0x50 && this.at(this.pos + 2) != 0x3c) return this.fail('invalid or unsupported group');
            if (d == 0x3c && (this.at(p + 1) == 0x3d || this.at(p + 1) == 0x21))
              return this.fail('lookbehind is not supported');
            p++; // past '<'
            const start = p;
            if (!isNameStart(this.at(p))) return this.fail('invalid group name');
            while (isNameChar(this.at(p))) p++;
            if (this.at(p) != 0x3e) return this.fail('invalid group name');
            let name = '';
            for (let i = start; i < p; i++) name += String.fromCharCode(this.cps[i]);
            if (this.names.includes(name)) return this.fail('duplicate group name ' + name);
            this.names.push(name);
            this.pos = p + 1;
          } else if (d == 0x3d || d == 0x21) {
            return this.fail('lookahead is not supported');
          } else {
            return this.fail('flags, atomic groups and other (? groups are not supported');
          }
        }
        stack.push(new Frame());
        continue;
      }
      if (c == 0x29) {
        if (stack.length == 1) return this.fail('unexpected )');
        const done = stack.pop();
        done.alternatives.push(seq(done.items));
        let group: Node;
        if (done.alternatives.length == 1) {
          group = done.alternatives[0];
        } else {
          group = new Node(N_ALT);
          group.children = done.alternatives;
        }
        // A group is one unit for a following quantifier, even when it holds a single item.
        const wrapper = new Node(N_CONCAT);
        wrapper.children = [group];
        stack[stack.length - 1].items.push(wrapper);
        this.pos++;
        continue;
      }
      if (c == 0x7c) {
        top.alternatives.push(seq(top.items));
        top.items = [];
        this.pos++;
        continue;
      }
      if (c == 0x5b) {
        const cls = this.parseClass();
        if (cls === null) return null;
        top.items.push(cls);
        continue;
      }
      if (c == 0x5c) {
        this.pos++;
        const raw = new Array<i32>();
        const e = this.escape(raw);
        if (e == -1) return null;
        if (e == -2) top.items.push(classNode(normalizeRanges(raw, false)));
        else top.items.push(lit(e));
        continue;
      }
      this.pos++;
      if (c == 0x2e) top.items.push(new Node(N_ANY));
      else if (c == 0x5e) top.items.push(new Node(N_BOL));
      else if (c == 0x24) top.items.push(new Node(N_EOL));
      else top.items.push(lit(c));
    }
    if (stack.length != 1) return this.fail('missing )');
    const root = stack[0];
    root.alternatives.push(seq(root.items));
    if (root.alternatives.length == 1) return root.alternatives[0];
    const alt = new Node(N_ALT);
    alt.children = root.alternatives;
    return alt;
  }
}

/** Program size of a node, saturating at a value above the limit (see docs/regex.md for the formula). */
function programSize(n: Node): i64 {
  const CAP: i64 = 1 << 40;
  const k = n.kind;
  if (k == N_EMPTY) return 0;
  if (k == N_LIT || k == N_ANY || k == N_CLASS || k == N_BOL || k == N_EOL) return 1;
  if (k == N_CONCAT || k == N_ALT) {
    let total: i64 = 0;
    for (let i = 0; i < n.children.length; i++) {
      total += programSize(n.children[i]);
      if (total > CAP) return CAP;
    }
    if (k == N_ALT) total += 2 * <i64>(n.children.length - 1);
    return total;
  }
  // N_REPEAT
  const s = programSize(n.children[0]);
  const min = <i64>n.min;
  let total: i64;
  if (n.max < 0) total = min == 0 ? s + 2 : min * s + 1;
  else total = min * s + (<i64>n.max - min) * (s + 1);
  return total > CAP ? CAP : total;
}

class Emitter {
  ops: Array<i32> = [];
  xs: Array<i32> = [];
  ys: Array<i32> = [];
  classes: Array<StaticArray<i32>> = [];

  add(op: i32, x: i32, y: i32): i32 {
    this.ops.push(op);
    this.xs.push(x);
    this.ys.push(y);
    return this.ops.length - 1;
  }

  emit(n: Node): void {
    const k = n.kind;
    if (k == N_EMPTY) return;
    if (k == N_LIT) {
      this.add(OP_CHAR, n.cp, 0);
    } else if (k == N_ANY) {
      this.add(OP_ANY, 0, 0);
    } else if (k == N_CLASS) {
      this.classes.push(n.ranges as StaticArray<i32>);
      this.add(OP_CLASS, this.classes.length - 1, 0);
    } else if (k == N_BOL) {
      this.add(OP_BOL, 0, 0);
    } else if (k == N_EOL) {
      this.add(OP_EOL, 0, 0);
    } else if (k == N_CONCAT) {
      for (let i = 0; i < n.children.length; i++) this.emit(n.children[i]);
    } else if (k == N_ALT) {
      const jumps = new Array<i32>();
      const count = n.children.length;
      for (let i = 0; i < count; i++) {
        if (i < count - 1) {
          const split = this.add(OP_SPLIT, 0, 0);
          this.xs[split] = split + 1;
          this.emit(n.children[i]);
          jumps.push(this.add(OP_JMP, 0, 0));
          this.ys[split] = this.ops.length;
        } else {
          this.emit(n.children[i]);
        }
      }
      const end = this.ops.length;
      for (let i = 0; i < jumps.length; i++) this.xs[jumps[i]] = end;
    } else {
      const x = n.children[0];
      const min = n.min;
      const max = n.max;
      if (max < 0) {
        if (min == 0) {
          const split = this.add(OP_SPLIT, 0, 0);
          this.xs[split] = split + 1;
          this.emit(x);
          this.add(OP_JMP, split, 0);
          this.ys[split] = this.ops.length;
        } else {
          for (let i = 0; i < min - 1; i++) this.emit(x);
          const start = this.ops.length;
          this.emit(x);
          const split = this.add(OP_SPLIT, start, 0);
          this.ys[split] = split + 1;
        }
      } else {
        for (let i = 0; i < min; i++) this.emit(x);
        const splits = new Array<i32>();
        for (let i = min; i < max; i++) {
          const split = this.add(OP_SPLIT, 0, 0);
          this.xs[split] = split + 1;
          splits.push(split);
          this.emit(x);
        }
        const end = this.ops.length;
        for (let i = 0; i < splits.length; i++) this.ys[splits[i]] = end;
      }
    }
  }
}

/** Sparse set of program counters (Briggs–Torczon): O(1) insert, membership and clear. */
class PcSet {
  dense: StaticArray<i32>;
  sparse: StaticArray<i32>;
  size: i32 = 0;

  constructor(n: i32) {
    this.dense = new StaticArray<i32>(n);
    this.sparse = new StaticArray<i32>(n);
  }

  @inline has(pc: i32): bool {
    const s = unchecked(this.sparse[pc]);
    return s < this.size && s >= 0 && unchecked(this.dense[s]) == pc;
  }

  @inline add(pc: i32): void {
    unchecked((this.sparse[pc] = this.size));
    unchecked((this.dense[this.size] = pc));
    this.size++;
  }
}

export class Regex {
  ops: StaticArray<i32>;
  xs: StaticArray<i32>;
  ys: StaticArray<i32>;
  classes: Array<StaticArray<i32>>;
  anchored: bool;
  /** ASCII bytes every match must start with (anchored patterns only): a cheap test before running the program. */
  literalPrefix: ArrayBuffer = new ArrayBuffer(0);
  private current: PcSet;
  private next: PcSet;
  private stack: StaticArray<i32>;

  constructor(e: Emitter) {
    const n = e.ops.length;
    const ops = new StaticArray<i32>(n);
    const xs = new StaticArray<i32>(n);
    const ys = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) {
      ops[i] = e.ops[i];
      xs[i] = e.xs[i];
      ys[i] = e.ys[i];
    }
    this.ops = ops;
    this.xs = xs;
    this.ys = ys;
    this.classes = e.classes;
    this.anchored = n > 0 && e.ops[0] == OP_BOL;
    this.current = new PcSet(n);
    this.next = new PcSet(n);
    // each pc is expanded at most once per list and pushes at most two successors
    this.stack = new StaticArray<i32>(2 * n + 2);
    // From the leading ^, execution is straight-line until the first non-literal: any match starts with those
    // characters, whatever jumps back later. Only ASCII, since only an ASCII byte decodes to an ASCII code point.
    let k = 0;
    if (n > 0 && ops[0] == OP_BOL) while (1 + k < n && ops[1 + k] == OP_CHAR && xs[1 + k] < 0x80) k++;
    const prefix = new ArrayBuffer(k);
    for (let i = 0; i < k; i++) store<u8>(changetype<usize>(prefix) + <usize>i, <u8>xs[1 + i]);
    this.literalPrefix = prefix;
  }

  get size(): i32 {
    return this.ops.length;
  }

  /** Follows empty transitions from `pc0` at input position `pos` into `list`; true when MATCH is reachable. */
  private addThread(list: PcSet, pc0: i32, pos: i32, len: i32): bool {
    const stack = this.stack;
    let top = 0;
    unchecked((stack[top++] = pc0));
    while (top > 0) {
      const pc = unchecked(stack[--top]);
      if (list.has(pc)) continue;
      list.add(pc);
      const op = unchecked(this.ops[pc]);
      if (op == OP_MATCH) return true;
      if (op == OP_JMP) {
        unchecked((stack[top++] = this.xs[pc]));
      } else if (op == OP_SPLIT) {
        unchecked((stack[top++] = this.ys[pc]));
        unchecked((stack[top++] = this.xs[pc]));
      } else if (op == OP_BOL) {
        if (pos == 0) unchecked((stack[top++] = pc + 1));
      } else if (op == OP_EOL) {
        if (pos == len) unchecked((stack[top++] = pc + 1));
      }
    }
    return false;
  }

  private inClass(index: i32, cp: i32): bool {
    const r = unchecked(this.classes[index]);
    let lo = 0;
    let hi = (r.length >> 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < unchecked(r[mid * 2])) hi = mid - 1;
      else if (cp > unchecked(r[mid * 2 + 1])) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** True when the pattern matches anywhere in the UTF-8 text at [ptr, ptr+len). */
  isMatch(ptr: usize, len: i32): bool {
    let clist = this.current;
    let nlist = this.next;
    clist.size = 0;
    if (this.addThread(clist, 0, 0, len)) return true;
    let pos = 0;
    while (pos < len) {
      if (clist.size == 0 && this.anchored) return false;
      const d = decodeCodePoint(ptr + <usize>pos, len - pos);
      const cp = d >> 3;
      const next = pos + (d & 7);
      nlist.size = 0;
      for (let i = 0; i < clist.size; i++) {
        const pc = unchecked(clist.dense[i]);
        const op = unchecked(this.ops[pc]);
        let ok = false;
        if (op == OP_CHAR) ok = cp == unchecked(this.xs[pc]);
        else if (op == OP_ANY) ok = cp != 0x0a;
        else if (op == OP_CLASS) ok = this.inClass(unchecked(this.xs[pc]), cp);
        if (ok && this.addThread(nlist, pc + 1, next, len)) return true;
      }
      if (!this.anchored && this.addThread(nlist, 0, next, len)) return true;
      const t = clist;
      clist = nlist;
      nlist = t;
      pos = next;
    }
    return false;
  }

  matchesBuffer(buf: ArrayBuffer): bool {
    return this.isMatch(changetype<usize>(buf), buf.byteLength);
  }
}

export class RegexResult {
  regex: Regex | null = null;
  error: string = '';
}

/** Compiles a pattern of the hfi dialect; on failure `regex` is null and `error` says why. */
export function compileRegex(pattern: string): RegexResult {
  const result = new RegexResult();
  const cps = new Array<i32>();
  for (let i = 0; i < pattern.length; i++) {
    const u = pattern.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < pattern.length) {
      const v = pattern.charCodeAt(i + 1);
      if (v >= 0xdc00 && v <= 0xdfff) {
        cps.push(0x10000 + ((u - 0xd800) << 10) + (v - 0xdc00));
        i++;
        continue;
      }
    }
    cps.push(u);
  }
  if (cps.length > MAX_PATTERN_LENGTH) {
    result.error = 'pattern longer than ' + MAX_PATTERN_LENGTH.toString() + ' characters';
    return result;
  }
  const parser = new Parser(cps);
  const root = parser.parse();
  if (root === null) {
    result.error = parser.error.length > 0 ? parser.error : 'invalid pattern';
    return result;
  }
  const size = programSize(root) + 1;
  if (size > <i64>MAX_PROGRAM_SIZE) {
    result.error = 'compiled program exceeds ' + MAX_PROGRAM_SIZE.toString() + ' instructions';
    return result;
  }
  const e = new Emitter();
  e.emit(root);
  e.add(OP_MATCH, 0, 0);
  result.regex = new Regex(e);
  return result;
}
