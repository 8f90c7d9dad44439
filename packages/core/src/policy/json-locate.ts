// Finds where a JSON text stops being valid. JSON.parse does the parsing; this runs only after it failed,
// because V8's messages do not always carry a position ("Unexpected token '}', ... is not valid JSON").

export interface JsonSyntaxProblem {
  /** UTF-16 offset of the offending character (the text's length for an unexpected end). */
  offset: number;
  reason: string;
}

class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  private fail(reason: string, at = this.i): never {
    throw { offset: at, reason } satisfies JsonSyntaxProblem;
  }

  private describe(at = this.i): string {
    return at >= this.s.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(this.s[at])}`;
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i])) this.i++;
  }

  run(): void {
    this.ws();
    this.value();
    this.ws();
    if (this.i < this.s.length) this.fail(`${this.describe()} after the JSON value`);
  }

  private value(): void {
    const c = this.s[this.i];
    if (c === '{') this.object();
    else if (c === '[') this.array();
    else if (c === '"') this.string();
    else if (c === '-' || (c >= '0' && c <= '9')) this.number();
    else if (this.s.startsWith('true', this.i)) this.i += 4;
    else if (this.s.startsWith('false', this.i)) this.i += 5;
    else if (this.s.startsWith('null', this.i)) this.i += 4;
    else this.fail(`${this.describe()}, expected a value`);
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail(`${this.describe()}, expected a double-quoted property name`);
      this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail(`${this.describe()}, expected ":" after a property name`);
      this.i++;
      this.ws();
      this.value();
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === '}') {
        this.i++;
        return;
      }
      this.fail(`${this.describe()}, expected "," or "}" after a property value`);
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      this.value();
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === ']') {
        this.i++;
        return;
      }
      this.fail(`${this.describe()}, expected "," or "]" after an array element`);
    }
  }

  private string(): void {
    this.i++;
    for (;;) {
      if (this.i >= this.s.length) this.fail('unterminated string');
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        const e = this.s[this.i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) this.i += 6;
        else this.fail('invalid escape in string');
      } else {
        this.i++;
      }
    }
  }

  private number(): void {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (m === null) this.fail('invalid number');
    this.i += m[0].length;
  }
}

/** The first syntax problem in a JSON text, or null when the text is valid JSON. */
export function locateJsonError(text: string): JsonSyntaxProblem | null {
  try {
    new Scanner(text).run();
    return null;
  } catch (problem) {
    // A stack overflow on absurd nesting is not a position; report the start.
    if (problem instanceof Error) return { offset: 0, reason: problem.message };
    return problem as JsonSyntaxProblem;
  }
}

/** 1-based line and column (in UTF-16 units) of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
