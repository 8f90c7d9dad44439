// For `import { expect } from '@jest/globals'`, whose expect is typed by the `expect` package. Add
// "@hfi/jest-preset/types/jest-globals" to tsconfig's "types" (or import it once).
import type { AsymmetricMatcher } from 'expect';
import type { HfiAsymmetricMatchers, HfiMatchers } from './matchers';

export type * from './matchers';

declare module 'expect' {
  interface Matchers<R extends void | Promise<void>, T = unknown> extends HfiMatchers<Promise<void>> {}
  interface AsymmetricMatchers extends HfiAsymmetricMatchers<AsymmetricMatcher<unknown>> {}
}
