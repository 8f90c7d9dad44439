// The regex dialect's checker and a linear-time matcher for it (a Thompson NFA simulation over code points).
// The filter's AssemblyScript engine implements the same dialect; docs/regex.md describes it for users.

import { HfiError } from '../errors';
import { type CodePointSet, parseRegex, type RegexNode, RegexSyntaxError } from './regex-syntax';

export { MAX_PATTERN_LENGTH, MAX_REPEAT } from './regex-syntax';

/** Largest compiled program accepted, counted repetitions expanded (`a{1000}` alone is 1001 instructions). */
export const MAX_PROGRAM_SIZE = 10000;

export type RegexCheck = { ok: true } | { ok: false; construct: string; index: number; message: string };

// Instruction opcodes.
const Op = { Char: 0, Any: 1, Set: 2, Split: 3, Jmp: 4, Start: 5, End: 6, Match: 7 } as const;
type Op = (typeof Op)[keyof typeof Op];

const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : a * b);

/**
 * Instructions the compiler emits for a node (the final Match not included). Counted with plain arithmetic so
 * that `(a{1000}){1000}` is refused without building anything; Infinity stands for "far too many".
 */
function programSize(node: RegexNode): number {
  switch (node.kind) {
    case 'empty':
      return 0;
    case 'concat':
      return node.items.reduce((sum, item) => sum + programSize(item), 0);
    case 'alternate':
      return node.items.reduce((sum, item) => sum + programSize(item), 0) + 2 * (node.items.length - 1);
    case 'repeat': {
      const e = programSize(node.node);
      if (node.max === Number.POSITIVE_INFINITY) return node.min === 0 ? e + 2 : mul(node.min, e) + 1;
      return mul(node.min, e) + mul(node.max - node.min, e + 1);
    }
    default:
      return 1;
  }
}

/** Checks a pattern against the dialect and its limits; the message names the construct and its offset. */
export function checkRegex(pattern: string): RegexCheck {
  try {
    const size = programSize(parseRegex(pattern)) + 1;
    if (size > MAX_PROGRAM_SIZE) {
      const count = Number.isFinite(size) && size < 1e9 ? `${size}` : `far more than ${MAX_PROGRAM_SIZE}`;
      return {
        ok: false,
        construct: 'regex too large',
        index: 0,
        message: `regex too large: it compiles to ${count} instructions (max ${MAX_PROGRAM_SIZE}); lower the repetition counts`,
      };
    }
    return { ok: true };
  } catch (error) {
    if (error instanceof RegexSyntaxError) {
      return { ok: false, construct: error.construct, index: error.index, message: error.message };
    }
    throw error;
  }
}

class Compiler {
  readonly op: Op[] = [];
  readonly a: number[] = [];
  readonly b: number[] = [];
  readonly sets: CodePointSet[] = [];

  private emit(op: Op, a = 0, b = 0): number {
    this.op.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.op.length - 1;
  }

  private get pc(): number {
    return this.op.length;
  }

  compile(node: RegexNode): void {
    switch (node.kind) {
      case 'empty':
        return;
      case 'char':
        this.emit(Op.Char, node.cp);
        return;
      case 'any':
        this.emit(Op.Any);
        return;
      case 'set':
        this.sets.push(node.ranges);
        this.emit(Op.Set, this.sets.length - 1);
        return;
      case 'start':
        this.emit(Op.Start);
        return;
      case 'end':
        this.emit(Op.End);
        return;
      case 'concat':
        for (const item of node.items) this.compile(item);
        return;
      case 'alternate': {
        const jumps: number[] = [];
        node.items.forEach((item, i) => {
          if (i === node.items.length - 1) {
            this.compile(item);
            return;
          }
          const split = this.emit(Op.Split, this.pc + 1);
          this.compile(item);
          jumps.push(this.emit(Op.Jmp));
          this.b[split] = this.pc;
        });
        for (const j of jumps) this.a[j] = this.pc;
        return;
      }
      case 'repeat':
        this.compileRepeat(node.node, node.min, node.max);
        return;
    }
  }

  private compileRepeat(node: RegexNode, min: number, max: number): void {
    if (max === Number.POSITIVE_INFINITY) {
      if (min === 0) {
        const split = this.emit(Op.Split, this.pc + 1);
        this.compile(node);
        this.emit(Op.Jmp, split);
        this.b[split] = this.pc;
        return;
      }
      for (let i = 0; i < min - 1; i++) this.compile(node);
      const loop = this.pc;
      this.compile(node);
      this.emit(Op.Split, loop, this.pc + 1);
      return;
    }
    for (let i = 0; i < min; i++) this.compile(node);
    const skips: number[] = [];
    for (let i = min; i < max; i++) {
      skips.push(this.emit(Op.Split, this.pc + 1));
      this.compile(node);
    }
    for (const s of skips) this.b[s] = this.pc;
  }

  finish(): void {
    this.emit(Op.Match);
  }
}

function inSet(set: CodePointSet, cp: number): boolean {
  let lo = 0;
  let hi = set.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < set[2 * mid]) hi = mid - 1;
    else if (cp > set[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** A compiled pattern of the dialect. `test` is an unanchored search, linear in the text's length. */
export class CompiledRegex {
  private readonly op: Op[];
  private readonly a: number[];
  private readonly b: number[];
  private readonly sets: CodePointSet[];

  /** @internal use compileRegex */
  constructor(
    readonly source: string,
    program: Compiler,
  ) {
    this.op = program.op;
    this.a = program.a;
    this.b = program.b;
    this.sets = program.sets;
  }

  /** Number of instructions, the quantity MAX_PROGRAM_SIZE limits. */
  get size(): number {
    return this.op.length;
  }

  test(text: string): boolean {
    const cps: number[] = [];
    for (const ch of text) cps.push(ch.codePointAt(0) as number);
    const n = this.op.length;
    let clist = new Int32Array(n);
    let nlist = new Int32Array(n);
    let clen = 0;
    let nlen = 0;
    const stamp = new Uint32Array(n);
    const stack: number[] = [];
    let gen = 0;

    // Adds pc and everything reachable from it without consuming input; true when Match is reachable.
    const add = (list: Int32Array, len: number, pc0: number, pos: number): number => {
      stack.push(pc0);
      while (stack.length > 0) {
        const pc = stack.pop() as number;
        if (stamp[pc] === gen) continue;
        stamp[pc] = gen;
        switch (this.op[pc]) {
          case Op.Jmp:
            stack.push(this.a[pc]);
            break;
          case Op.Split:
            stack.push(this.b[pc], this.a[pc]);
            break;
          case Op.Start:
            if (pos === 0) stack.push(pc + 1);
            break;
          case Op.End:
            if (pos === cps.length) stack.push(pc + 1);
            break;
          case Op.Match:
            stack.length = 0;
            return -1;
          default:
            list[len++] = pc;
        }
      }
      return len;
    };

    gen++;
    clen = add(clist, 0, 0, 0);
    if (clen < 0) return true;
    for (let pos = 0; pos < cps.length; pos++) {
      const cp = cps[pos];
      gen++;
      nlen = 0;
      for (let i = 0; i < clen; i++) {
        const pc = clist[i];
        let consumed: boolean;
        switch (this.op[pc]) {
          case Op.Char:
            consumed = this.a[pc] === cp;
            break;
          case Op.Any:
            consumed = cp !== 0x0a;
            break;
          default:
            consumed = inSet(this.sets[this.a[pc]], cp);
        }
        if (consumed) {
          nlen = add(nlist, nlen, pc + 1, pos + 1);
          if (nlen < 0) return true;
        }
      }
      // Unanchored search: a match may also start at the next position.
      nlen = add(nlist, nlen, 0, pos + 1);
      if (nlen < 0) return true;
      [clist, nlist] = [nlist, clist];
      clen = nlen;
    }
    return false;
  }
}

/** Compiles a pattern of the dialect; throws HfiError HFI_ERR_POLICY_INVALID naming the construct. */
export function compileRegex(pattern: string): CompiledRegex {
  const check = checkRegex(pattern);
  if (!check.ok) {
    throw new HfiError('HFI_ERR_POLICY_INVALID', `invalid regex: ${check.message}`, {
      details: { pattern, construct: check.construct, index: check.index },
    });
  }
  const compiler = new Compiler();
  compiler.compile(parseRegex(pattern));
  compiler.finish();
  return new CompiledRegex(pattern, compiler);
}
