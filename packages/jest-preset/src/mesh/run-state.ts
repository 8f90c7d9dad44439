// What global setup leaves for global teardown. Both run in Jest's parent process and share its global object
// (never the test files'), so the handles live there under a registered symbol.
import type { HfiPresetConfig } from '../config/types';
import type { PresetRuntime } from '../runtime/published-env';
import type { LocalMesh } from './local-mesh';

export interface RunState {
  config: HfiPresetConfig;
  runtime: PresetRuntime;
  /** local mode only. */
  mesh?: LocalMesh;
  /** kubernetes mode: the policies that existed before the run (a shared control plane may hold others'). */
  policiesBefore: ReadonlySet<string>;
  /** The HFI_* values before setup published its own. */
  previousEnv: Record<string, string | undefined>;
  /** Projects of a multi-project run that set up on this state and have not torn down yet. */
  users: number;
}

const RUN_KEY = Symbol.for('hfi.jest-preset.run');
type Holder = Record<symbol, RunState | undefined>;

export function currentRun(): RunState | undefined {
  return (globalThis as unknown as Holder)[RUN_KEY];
}

export function setRun(run: RunState | undefined): void {
  (globalThis as unknown as Holder)[RUN_KEY] = run;
}
