// For @types/jest globals. Add "@hfi/jest-preset/types/jest" to tsconfig's "types" (or import it once).
import type { HfiAsymmetricMatchers, HfiMatchers } from './matchers';

export type * from './matchers';

declare global {
  namespace jest {
    // The type parameters must be spelled as @types/jest spells them for the declarations to merge.
    // biome-ignore lint/complexity/noBannedTypes: @types/jest declares T = {}
    interface Matchers<R, T = {}> extends HfiMatchers<Promise<void>> {}
    // biome-ignore lint/suspicious/noExplicitAny: @types/jest types asymmetric matchers as any
    interface Expect extends HfiAsymmetricMatchers<any> {}
    // biome-ignore lint/suspicious/noExplicitAny: as above, for expect.not.…
    interface InverseAsymmetricMatchers extends HfiAsymmetricMatchers<any> {}
  }
}
