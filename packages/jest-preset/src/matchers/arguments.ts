// Argument checks shared by the matchers. Numeric expectations may be asymmetric matchers (expect.any(Number),
// expect.closeTo(…), a custom expect.toBeWithin(…)); they are compared with the context's equals.
import { type AsymmetricMatcherLike, isAsymmetricMatcher, type MatcherContextLike } from './context';
import { usageError } from './process-match';

export type NumberExpectation = number | AsymmetricMatcherLike;

export interface ArgContext {
  ctx: MatcherContextLike;
  matcher: string;
  expectedHint: string;
}

export function fail(a: ArgContext, problem: string): never {
  throw usageError(a.ctx, a.matcher, a.expectedHint, problem);
}

/** A count: a non-negative integer, or an asymmetric matcher. */
export function countArg(a: ArgContext, value: unknown, what: string): NumberExpectation {
  if (isAsymmetricMatcher(value)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  return fail(
    a,
    `${what} must be a non-negative integer or an asymmetric matcher such as expect.any(Number), got ${a.ctx.utils.printExpected(value)}`,
  );
}

/** A non-negative finite number (e.g. milliseconds), or an asymmetric matcher. */
export function amountArg(a: ArgContext, value: unknown, what: string): NumberExpectation {
  if (isAsymmetricMatcher(value)) return value;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  return fail(
    a,
    `${what} must be a non-negative number or an asymmetric matcher such as expect.closeTo(1250, 0), got ${a.ctx.utils.printExpected(value)}`,
  );
}

export function objectArg(
  a: ArgContext,
  value: unknown,
  what: string,
  allowed: readonly string[],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isAsymmetricMatcher(value)) {
    return fail(a, `${what} must be an object with ${allowed.join(', ')}, got ${a.ctx.utils.printExpected(value)}`);
  }
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    return fail(
      a,
      `${what} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`,
    );
  }
  return value as Record<string, unknown>;
}

/** Whether the expectation would accept a zero; if not, the assertion expects some faults. */
export function acceptsZero(ctx: MatcherContextLike, expected: NumberExpectation): boolean {
  return ctx.equals(0, expected);
}

/** "Expected <label>: [not ]<value>" */
export function expectedLine(ctx: MatcherContextLike, label: string, expected: unknown): string {
  return `Expected ${label}: ${ctx.isNot ? 'not ' : ''}${ctx.utils.printExpected(expected)}`;
}

export function receivedLine(ctx: MatcherContextLike, label: string, received: unknown, suffix = ''): string {
  return `Received ${label}: ${ctx.isNot ? '    ' : ''}${ctx.utils.printReceived(received)}${suffix}`;
}
