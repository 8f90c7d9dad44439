// For Vitest ≥ 3.2, where one interface types expect(…).…, expect.… and expect.extend. Register the matchers with
// `expect.extend(hfiMatchers)` (from '@hfi/jest-preset') in a setup file, and add "@hfi/jest-preset/types/vitest" to
// tsconfig's "types" (or import it once).
import type { HfiMatchers } from './matchers';

export type * from './matchers';

declare module 'vitest' {
  // biome-ignore lint/suspicious/noExplicitAny: Vitest declares T = any
  interface Matchers<T = any> extends HfiMatchers<Promise<void>> {}
}
