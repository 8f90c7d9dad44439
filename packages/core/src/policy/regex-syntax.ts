// Parser for hfi's regex dialect: an RE2-style subset that a linear-time engine can run (docs/regex.md).
// Works on Unicode code points; every offset it reports is a code-point offset into the pattern.
// Anything outside the dialect is rejected with the construct's name, never silently reinterpreted.

export const MAX_PATTERN_LENGTH = 1024;
export const MAX_REPEAT = 1000;
export const MAX_CODE_POINT = 0x10ffff;

/** Sorted, non-overlapping, non-adjacent inclusive ranges, flattened: [lo0, hi0, lo1, hi1, ...]. */
export type CodePointSet = number[];

export type RegexNode =
  | { kind: 'empty' }
  | { kind: 'char'; cp: number }
  /** `.`: any code point except `\n`. */
  | { kind: 'any' }
  | { kind: 'set'; ranges: CodePointSet }
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'concat'; items: RegexNode[] }
  | { kind: 'alternate'; items: RegexNode[] }
  /** max = Infinity for unbounded repetitions. Laziness does not change what an unanchored search accepts. */
  | { kind: 'repeat'; node: RegexNode; min: number; max: number };

export class RegexSyntaxError extends Error {
  constructor(
    readonly construct: string,
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

const DIGIT: CodePointSet = [0x30, 0x39];
const WORD: CodePointSet = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
// RE2's \s: [\t\n\f\r ] (no \v).
const SPACE: CodePointSet = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

export function normalizeSet(ranges: number[]): CodePointSet {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i], ranges[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) out[last] = Math.max(out[last], hi);
    else out.push(lo, hi);
  }
  return out;
}

export function negateSet(set: CodePointSet): CodePointSet {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < set.length; i += 2) {
    if (set[i] > next) out.push(next, set[i] - 1);
    next = set[i + 1] + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

const isAsciiLetter = (cp: number) => (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
const isAsciiDigit = (cp: number) => cp >= 0x30 && cp <= 0x39;
const isHexDigit = (cp: number) => isAsciiDigit(cp) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66);
const isWordChar = (cp: number) => isAsciiLetter(cp) || isAsciiDigit(cp) || cp === 0x5f;
/** Printable ASCII that is not a letter or digit (space and `_` included): escaping it yields the character. */
const isEscapablePunct = (cp: number) => cp >= 0x20 && cp <= 0x7e && !isAsciiLetter(cp) && !isAsciiDigit(cp);

/** Escapes we name explicitly because users bring them from PCRE, JavaScript, Java or .NET. */
const NAMED_ESCAPES: Record<string, string> = {
  b: 'word boundary',
  B: 'non-word boundary',
  A: 'start-of-text anchor',
  z: 'end-of-text anchor',
  Z: 'end-of-text anchor',
  G: 'match-start anchor',
  p: 'Unicode class',
  P: 'Unicode class',
  k: 'backreference',
  g: 'backreference',
  Q: 'quoted literal',
  E: 'quoted literal',
  c: 'control escape',
  u: 'Unicode escape',
  U: 'Unicode escape',
  o: 'octal escape',
  K: 'match reset',
  R: 'line-break escape',
  X: 'grapheme escape',
  N: 'non-newline escape',
  h: 'horizontal space class',
  H: 'horizontal space class',
  V: 'vertical space class',
  C: 'single-byte escape',
};

/** `(?` prefixes outside the dialect, longest first where one is a prefix of another. */
const GROUP_PREFIXES: [string, string][] = [
  ['<=', 'lookbehind'],
  ['<!', 'negative lookbehind'],
  ['P=', 'backreference'],
  ['P>', 'recursion'],
  ['=', 'lookahead'],
  ['!', 'negative lookahead'],
  ['>', 'atomic group'],
  ['#', 'comment group'],
  ['(', 'conditional'],
  ['|', 'branch reset'],
  ['&', 'recursion'],
  ['R)', 'recursion'],
];

type ClassAtom = { kind: 'cp'; cp: number; start: number } | { kind: 'set'; set: CodePointSet; start: number };

class Parser {
  private pos = 0;
  private readonly names = new Set<string>();

  constructor(
    private readonly cps: number[],
    private readonly src: string[],
  ) {}

  parse(): RegexNode {
    const node = this.parseAlternation();
    if (this.pos < this.cps.length) {
      // Only an unmatched ')' stops the top-level alternation early.
      this.fail('unbalanced parenthesis', this.pos, `unbalanced parenthesis: ")" at offset ${this.pos} has no "("`);
    }
    return node;
  }

  private text(from: number, to: number): string {
    return this.src.slice(from, Math.min(to, this.src.length)).join('');
  }

  private peek(ahead = 0): number {
    return this.pos + ahead < this.cps.length ? this.cps[this.pos + ahead] : -1;
  }

  private fail(construct: string, index: number, message: string): never {
    throw new RegexSyntaxError(construct, index, message);
  }

  private unsupported(construct: string, index: number, text: string, hint = ''): never {
    this.fail(construct, index, `${construct} "${text}" at offset ${index} is not supported${hint}`);
  }

  private parseAlternation(): RegexNode {
    const items = [this.parseConcat()];
    while (this.peek() === 0x7c /* | */) {
      this.pos++;
      items.push(this.parseConcat());
    }
    return items.length === 1 ? items[0] : { kind: 'alternate', items };
  }

  private parseConcat(): RegexNode {
    const items: RegexNode[] = [];
    for (;;) {
      const c = this.peek();
      if (c === -1 || c === 0x7c || c === 0x29 /* ) */) break;
      items.push(this.parseQuantifiers(this.parseAtom()));
    }
    if (items.length === 0) return { kind: 'empty' };
    return items.length === 1 ? items[0] : { kind: 'concat', items };
  }

  private parseAtom(): RegexNode {
    const start = this.pos;
    const c = this.cps[this.pos];
    if (c === 0x28 /* ( */) return this.parseGroup();
    if (c === 0x5b /* [ */) return this.parseClass();
    if (c === 0x5c /* \ */) {
      const atom = this.parseEscape();
      return atom.kind === 'cp' ? { kind: 'char', cp: atom.cp } : { kind: 'set', ranges: atom.set };
    }
    if (c === 0x2a /* * */ || c === 0x2b /* + */ || c === 0x3f /* ? */) {
      this.fail(
        'nothing to repeat',
        start,
        `nothing to repeat: "${this.src[start]}" at offset ${start} follows nothing`,
      );
    }
    if (c === 0x7b /* { */) {
      if (this.readCountedRepeat() === null) this.badBrace(start);
      this.fail(
        'nothing to repeat',
        start,
        `nothing to repeat: "${this.text(start, this.pos)}" at offset ${start} follows nothing`,
      );
    }
    this.pos++;
    if (c === 0x2e /* . */) return { kind: 'any' };
    if (c === 0x5e /* ^ */) return { kind: 'start' };
    if (c === 0x24 /* $ */) return { kind: 'end' };
    return { kind: 'char', cp: c };
  }

  private badBrace(start: number): never {
    this.fail(
      'bad repetition',
      start,
      `bad repetition: "{" at offset ${start} must start {n}, {n,} or {n,m}; write \\{ for a literal brace`,
    );
  }

  /** Reads `{n}`, `{n,}` or `{n,m}` at pos; returns null (pos unchanged) when the text is not of that shape. */
  private readCountedRepeat(): { min: number; max: number } | null {
    const start = this.pos;
    let p = this.pos + 1;
    const readInt = (): number | null => {
      const from = p;
      while (p < this.cps.length && isAsciiDigit(this.cps[p])) p++;
      return p === from ? null : Number(this.text(from, p));
    };
    const min = readInt();
    if (min === null) return null;
    let max: number | null = min;
    let unbounded = false;
    if (this.cps[p] === 0x2c /* , */) {
      p++;
      max = readInt();
      unbounded = max === null;
    }
    if (this.cps[p] !== 0x7d /* } */) return null;
    p++;
    this.pos = p;
    const text = this.text(start, p);
    if (min > MAX_REPEAT || (max !== null && max > MAX_REPEAT)) {
      this.fail(
        'bad repetition',
        start,
        `bad repetition: "${text}" at offset ${start} exceeds the maximum count of ${MAX_REPEAT}`,
      );
    }
    if (max !== null && min > max) {
      this.fail(
        'bad repetition',
        start,
        `bad repetition: "${text}" at offset ${start} has its minimum above its maximum`,
      );
    }
    return { min, max: unbounded || max === null ? Number.POSITIVE_INFINITY : max };
  }

  private parseQuantifiers(atom: RegexNode): RegexNode {
    let node = atom;
    let quantified = false;
    for (;;) {
      const c = this.peek();
      const qStart = this.pos;
      let min: number;
      let max: number;
      if (c === 0x2a) {
        this.pos++;
        min = 0;
        max = Number.POSITIVE_INFINITY;
      } else if (c === 0x2b) {
        this.pos++;
        min = 1;
        max = Number.POSITIVE_INFINITY;
      } else if (c === 0x3f) {
        this.pos++;
        min = 0;
        max = 1;
      } else if (c === 0x7b) {
        const counted = this.readCountedRepeat();
        if (counted === null) this.badBrace(qStart);
        ({ min, max } = counted);
      } else {
        return node;
      }
      if (quantified) {
        this.fail(
          'bad repetition',
          qStart,
          `bad repetition: "${this.text(qStart, this.pos)}" at offset ${qStart} repeats a repetition (wrap it in a group: (?:…)${this.text(qStart, this.pos)})`,
        );
      }
      if (this.peek() === 0x3f)
        this.pos++; // lazy: same language
      else if (this.peek() === 0x2b) {
        this.unsupported('possessive quantifier', qStart, this.text(qStart, this.pos + 1));
      }
      quantified = true;
      node = { kind: 'repeat', node, min, max };
    }
  }

  private parseGroup(): RegexNode {
    const start = this.pos;
    this.pos++; // (
    if (this.peek() === 0x3f /* ? */) this.parseGroupPrefix(start);
    const inner = this.parseAlternation();
    if (this.peek() !== 0x29) {
      this.fail('unbalanced parenthesis', start, `unbalanced parenthesis: "(" at offset ${start} is never closed`);
    }
    this.pos++;
    return inner;
  }

  /** Handles what follows `(?`; returns with pos after the prefix of a supported group, otherwise throws. */
  private parseGroupPrefix(start: number): void {
    const c = this.peek(1);
    const c2 = this.peek(2);
    const two = this.text(start + 2, start + 4);
    if (c === 0x3a /* : */) {
      this.pos += 2;
      return;
    }
    if ((c === 0x3c /* < */ && c2 !== 0x3d && c2 !== 0x21) || (c === 0x50 /* P */ && c2 === 0x3c)) {
      this.pos += c === 0x3c ? 2 : 3;
      this.parseGroupName(start);
      return;
    }
    const named = GROUP_PREFIXES.find(([prefix]) => two.startsWith(prefix));
    if (named !== undefined) this.unsupported(named[1], start, `(?${named[0]}`);
    if (c !== -1 && (isAsciiDigit(c) || ((c === 0x2b || c === 0x2d) && isAsciiDigit(c2)))) {
      this.unsupported('recursion', start, this.text(start, this.pos + (isAsciiDigit(c) ? 2 : 3)));
    }
    if (c !== -1 && (isAsciiLetter(c) || c === 0x2d /* - */ || c === 0x5e) /* ^ */) {
      let p = this.pos + 1;
      while (p < this.cps.length && this.cps[p] !== 0x29 && this.cps[p] !== 0x3a) p++;
      this.unsupported('inline flags', start, this.text(start, p + 1));
    }
    this.fail('bad group', start, `unknown group syntax "${this.text(start, this.pos + 2)}" at offset ${start}`);
  }

  /** pos is just after `<`; reads `name>`. */
  private parseGroupName(start: number): void {
    const from = this.pos;
    while (this.pos < this.cps.length && isWordChar(this.cps[this.pos])) this.pos++;
    const name = this.text(from, this.pos);
    if (this.peek() !== 0x3e /* > */ || name === '' || isAsciiDigit(this.cps[from])) {
      this.fail(
        'bad group name',
        start,
        `bad group name at offset ${start}: a name is a letter or "_" followed by letters, digits or "_", closed by ">"`,
      );
    }
    if (this.names.has(name)) {
      this.fail('duplicate group name', start, `duplicate group name "${name}" at offset ${start}`);
    }
    this.names.add(name);
    this.pos++; // >
  }

  /** pos at `\`. Returns a literal code point or a set (for \d \w \s and negations). */
  private parseEscape(): ClassAtom {
    const start = this.pos;
    const c = this.peek(1);
    if (c === -1) this.fail('trailing backslash', start, `trailing backslash at offset ${start}`);
    this.pos += 2;
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case 't':
        return { kind: 'cp', cp: 0x09, start };
      case 'n':
        return { kind: 'cp', cp: 0x0a, start };
      case 'r':
        return { kind: 'cp', cp: 0x0d, start };
      case 'f':
        return { kind: 'cp', cp: 0x0c, start };
      case 'v':
        return { kind: 'cp', cp: 0x0b, start };
      case 'd':
        return { kind: 'set', set: DIGIT, start };
      case 'D':
        return { kind: 'set', set: negateSet(DIGIT), start };
      case 'w':
        return { kind: 'set', set: WORD, start };
      case 'W':
        return { kind: 'set', set: negateSet(WORD), start };
      case 's':
        return { kind: 'set', set: SPACE, start };
      case 'S':
        return { kind: 'set', set: negateSet(SPACE), start };
      case 'x': {
        if (this.peek() === 0x7b /* { */) {
          this.unsupported('braced hex escape', start, '\\x{', '; write \\xHH (two hex digits)');
        }
        const h1 = this.peek();
        const h2 = this.peek(1);
        if (h1 === -1 || h2 === -1 || !isHexDigit(h1) || !isHexDigit(h2)) {
          this.fail('bad escape', start, `bad escape "\\x" at offset ${start}: expected two hex digits (\\xHH)`);
        }
        this.pos += 2;
        return { kind: 'cp', cp: Number.parseInt(this.text(start + 2, start + 4), 16), start };
      }
    }
    if (c === 0x30) this.unsupported('octal escape', start, '\\0');
    if (isAsciiDigit(c)) this.unsupported('backreference', start, `\\${ch}`);
    if (ch === 'p' || ch === 'P') {
      let end = this.pos + 1;
      if (this.peek() === 0x7b) {
        while (end < this.cps.length && this.cps[end - 1] !== 0x7d) end++;
      }
      this.unsupported('Unicode class', start, this.text(start, end));
    }
    if ((ch === 'k' || ch === 'g') && [0x3c, 0x7b, 0x27].includes(this.peek())) {
      const close = { 60: 0x3e, 123: 0x7d, 39: 0x27 }[this.peek() as 0x3c | 0x7b | 0x27];
      let end = this.pos + 1;
      while (end < this.cps.length && this.cps[end] !== close) end++;
      this.unsupported('backreference', start, this.text(start, end + 1));
    }
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) this.unsupported(named, start, `\\${ch}`);
    if (isEscapablePunct(c)) return { kind: 'cp', cp: c, start };
    this.unsupported('unknown escape', start, `\\${ch}`);
  }

  private parseClass(): RegexNode {
    const start = this.pos;
    this.pos++; // [
    let negated = false;
    if (this.peek() === 0x5e /* ^ */) {
      negated = true;
      this.pos++;
    }
    const ranges: number[] = [];
    let first = true;
    let onlyLeadingBracket = false;
    for (;;) {
      const c = this.peek();
      if (c === -1) {
        if (onlyLeadingBracket) {
          this.fail(
            'empty class',
            start,
            `empty class "${this.text(start, this.pos)}" at offset ${start}: a "]" right after "[" is a literal, so the class is never closed (write \\] for a literal "]")`,
          );
        }
        this.fail('unterminated class', start, `unterminated class: "[" at offset ${start} is never closed by "]"`);
      }
      if (c === 0x5d /* ] */ && !first) break;
      onlyLeadingBracket = first && c === 0x5d;
      first = false;
      const lo = this.parseClassAtom();
      if (lo.kind === 'set') {
        ranges.push(...lo.set);
        continue;
      }
      if (this.peek() === 0x2d /* - */ && this.peek(1) !== 0x5d && this.peek(1) !== -1) {
        this.pos++; // -
        const hi = this.parseClassAtom();
        const text = this.text(lo.start, this.pos);
        if (hi.kind === 'set') {
          this.fail(
            'bad range',
            lo.start,
            `bad range "${text}" at offset ${lo.start}: a class like \\d cannot end a range`,
          );
        }
        if (hi.cp < lo.cp) {
          this.fail('bad range', lo.start, `bad range "${text}" at offset ${lo.start}: its start is after its end`);
        }
        ranges.push(lo.cp, hi.cp);
      } else {
        ranges.push(lo.cp, lo.cp);
      }
    }
    this.pos++; // ]
    const set = normalizeSet(ranges);
    return { kind: 'set', ranges: negated ? negateSet(set) : set };
  }

  private parseClassAtom(): ClassAtom {
    const start = this.pos;
    const c = this.cps[this.pos];
    if (c === 0x5c) return this.parseEscape();
    if (c === 0x5b /* [ */ && this.peek(1) === 0x3a /* : */) {
      // [[:alpha:]] and friends
      let p = this.pos + 2;
      while (p < this.cps.length && (isAsciiLetter(this.cps[p]) || this.cps[p] === 0x5e)) p++;
      if (this.cps[p] === 0x3a && this.cps[p + 1] === 0x5d)
        this.unsupported('POSIX class', start, this.text(start, p + 2));
    }
    this.pos++;
    return { kind: 'cp', cp: c, start };
  }
}

export function toCodePoints(s: string): { cps: number[]; src: string[] } {
  const src = Array.from(s);
  return { cps: src.map((ch) => ch.codePointAt(0) as number), src };
}

/** Parses a pattern of the dialect; throws RegexSyntaxError naming the construct and its code-point offset. */
export function parseRegex(pattern: string): RegexNode {
  const { cps, src } = toCodePoints(pattern);
  if (cps.length > MAX_PATTERN_LENGTH) {
    throw new RegexSyntaxError(
      'pattern too long',
      MAX_PATTERN_LENGTH,
      `pattern too long: ${cps.length} characters (max ${MAX_PATTERN_LENGTH})`,
    );
  }
  return new Parser(cps, src).parse();
}
