// Jest setupFilesAfterEnv: registers the hfi matchers, and closes the fault windows a test opened once it ends,
// passed or failed. Windows opened in beforeAll (or at the top of the file) live until the file ends.
import { HfiError } from '@hfi/core';
import type { FaultWindow } from '@hfi/sdk';
import { hfiMatchers } from './matchers/index';
import { closeWorkerClient, openWindows } from './runtime/worker';

type Hook = (fn: () => unknown) => void;
interface JestApi {
  expect: { extend(matchers: object): void };
  beforeEach: Hook;
  afterEach: Hook;
  afterAll: Hook;
}

function jestApi(): JestApi {
  const g = globalThis as Partial<JestApi>;
  if (g.expect && g.beforeEach && g.afterEach && g.afterAll) return g as JestApi;
  // injectGlobals: false
  return require('@jest/globals') as JestApi;
}

const api = jestApi();
api.expect.extend(hfiMatchers);

let openBefore = new Set<FaultWindow>();
api.beforeEach(() => {
  openBefore = new Set(openWindows());
});
api.afterEach(async () => {
  const opened = openWindows().filter((w) => !openBefore.has(w));
  const results = await Promise.allSettled(opened.map((w) => w.close()));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    throw new HfiError(
      'HFI_ERR_PRESET_LEFTOVER',
      `could not close ${failed.length} fault window(s) the test left open: ${failed.map((f) => (f.reason as Error).message).join('; ')}`,
      { cause: failed[0]?.reason, details: { policies: opened.map((w) => w.name) } },
    );
  }
});
api.afterAll(() => closeWorkerClient());
