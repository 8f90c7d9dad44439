// The parts of a matcher's `this` the hfi matchers use. Jest's and Vitest's matcher contexts both have them, so the
// matcher object works with either runner's expect.extend.

export interface MatcherHintOptions {
  isNot?: boolean;
  promise?: string;
  secondArgument?: string;
}

export interface MatcherUtilsLike {
  matcherHint(matcherName: string, received?: string, expected?: string, options?: MatcherHintOptions): string;
  printExpected(value: unknown): string;
  printReceived(value: unknown): string;
}

export interface MatcherContextLike {
  isNot?: boolean;
  /** '' | 'resolves' | 'rejects' in `expect(x).…`; absent when Jest calls the matcher as an asymmetric one. */
  promise?: string;
  /** Recursive equality that honours asymmetric matchers (`expect.any(Number)`) in `b`. */
  equals(a: unknown, b: unknown): boolean;
  utils: MatcherUtilsLike;
}

export interface MatcherResult {
  pass: boolean;
  message(): string;
}

/** Something an asymmetric matcher such as `expect.any(Number)` or `expect.closeTo(1250, 0)` returns. */
export interface AsymmetricMatcherLike {
  asymmetricMatch(other: unknown): boolean;
}

export function isAsymmetricMatcher(value: unknown): value is AsymmetricMatcherLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { asymmetricMatch?: unknown }).asymmetricMatch === 'function'
  );
}
