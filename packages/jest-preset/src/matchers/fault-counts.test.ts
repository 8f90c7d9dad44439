/// <reference path="../../types/jest.d.ts" />
// toHaveInjectedAborts, toHaveInjectedDelays, toHaveInjectedFaults and toHaveNoInjectedFaults on FaultDeltas diffed
// by the SDK from stats pages rendered by the sidecar's Envoy-faithful store.
import { failureMessage, tableRow } from '../__fixtures__/assertion-failure';
import { FixtureSidecar, windowDelta } from '../__fixtures__/sidecar-stats';
import { hfiMatchers } from './index';

expect.extend(hfiMatchers);

/** frontend-local: 3 aborts and 2 delays of 150 ms (flushed); catalog-local: nothing. */
function mixedDelta() {
  const frontend = new FixtureSidecar('frontend-local');
  const catalog = new FixtureSidecar('catalog-local');
  return windowDelta([frontend, catalog], () => {
    frontend.abort(3).delay(150, 2).flush();
  });
}

function quietDelta() {
  const frontend = new FixtureSidecar('frontend-local');
  return windowDelta([frontend], () => {
    frontend.flush();
  });
}

describe('toHaveInjectedAborts', () => {
  it('passes on the aborts summed over the pods', async () => {
    await expect(mixedDelta()).toHaveInjectedAborts(3);
  });

  it('fails with expected and received, the per-pod table and no misleading cause', async () => {
    const message = await failureMessage(() => expect(mixedDelta()).toHaveInjectedAborts(5));
    expect(message).toContain('expect(received).toHaveInjectedAborts(expected)');
    expect(message).toContain('Expected aborts: 5');
    expect(message).toContain('Received aborts: 3');
    expect(message).toContain('Received per pod:');
    expect(tableRow(message, 'pod')).toEqual([
      'pod',
      'aborts',
      'delays',
      'histogram count',
      'histogram sum (ms)',
      'flags',
    ]);
    expect(tableRow(message, 'frontend-local')).toEqual(['frontend-local', '3', '2', '2', '310']);
    expect(tableRow(message, 'catalog-local')).toEqual(['catalog-local', '0', '0', '0', '0']);
    expect(tableRow(message, 'total')).toEqual(['total', '3', '2', '2', '310']);
    expect(message).not.toContain('Likely cause:');
  });

  it('names "selector or match did not hit traffic" when nothing was aborted', async () => {
    const message = await failureMessage(() => expect(quietDelta()).toHaveInjectedAborts(3));
    expect(message).toContain('Received aborts: 0');
    expect(message).toContain('Likely cause:');
    expect(message).toContain(
      'no fault was injected: the selector or the match did not hit traffic, or no traffic reached the sidecar',
    );
  });

  it('fails when the plugin is not loaded (metrics absent), even for 0, and says why', async () => {
    const bare = new FixtureSidecar('frontend-local', 'none');
    const delta = windowDelta([bare], () => undefined);
    const message = await failureMessage(() => expect(delta).toHaveInjectedAborts(0));
    expect(message).toContain('Received aborts: 0 (not trusted: hfi metrics absent on frontend-local)');
    expect(tableRow(message, 'frontend-local')).toEqual(['frontend-local', '0', '0', '0', '0', 'metrics absent']);
    expect(message).toMatch(
      /the hfi metric families are absent on frontend-local: the Wasm plugin is not loaded there/,
    );
    expect(message).not.toContain('no fault was injected');
  });

  it('points at the old metric names when the plugin exports them', async () => {
    const old = new FixtureSidecar('frontend-local', 'old');
    const delta = windowDelta([old], () => {
      old.abort(2);
    });
    const message = await failureMessage(() => expect(delta).toHaveInjectedAborts(2));
    expect(message).toContain('old build exporting the old names (hfi.faults.* instead of wasmcustom.hfi_faults_*)');
    expect(tableRow(message, 'frontend-local')?.[5]).toBe('metrics absent');
  });

  it('flags a restarted proxy in the table and the causes', async () => {
    const clock = { now: 1_000_000 };
    const frontend = new FixtureSidecar('frontend-local', 'current', clock).abort(10);
    clock.now += 60_000;
    const delta = windowDelta(
      [frontend],
      () => {
        frontend.restart().abort(1);
      },
      clock,
    );
    const message = await failureMessage(() => expect(delta).toHaveInjectedAborts(11));
    expect(tableRow(message, 'frontend-local')?.[5]).toBe('reset');
    expect(message).toContain('frontend-local restarted during the window: faults before the restart are lost');
  });

  it('.not passes on another count and fails on the same one, worded with "not"', async () => {
    await expect(mixedDelta()).not.toHaveInjectedAborts(4);
    const message = await failureMessage(() => expect(mixedDelta()).not.toHaveInjectedAborts(3));
    expect(message).toContain('expect(received).not.toHaveInjectedAborts(expected)');
    expect(message).toContain('Expected aborts: not 3');
    expect(message).toContain('Received aborts:     3');
  });

  it('takes asymmetric expectations, and works as an asymmetric matcher inside toEqual', async () => {
    const delta = mixedDelta();
    await expect(delta).toHaveInjectedAborts(expect.any(Number));
    expect({ frontend: delta }).toEqual({ frontend: expect.toHaveInjectedAborts(3) });
    expect({ frontend: delta }).not.toEqual({ frontend: expect.toHaveInjectedAborts(4) });
    expect(delta).toEqual(expect.not.toHaveInjectedAborts(4));
  });
});

describe('toHaveInjectedDelays', () => {
  it('passes on the delays', async () => {
    await expect(mixedDelta()).toHaveInjectedDelays(2);
  });

  it('fails with the counts and the table', async () => {
    const message = await failureMessage(() => expect(mixedDelta()).toHaveInjectedDelays(7));
    expect(message).toContain('Expected delays: 7');
    expect(message).toContain('Received delays: 2');
    expect(tableRow(message, 'frontend-local')).toEqual(['frontend-local', '3', '2', '2', '310']);
  });

  it('.not and asymmetric forms', async () => {
    await expect(mixedDelta()).not.toHaveInjectedDelays(0);
    const message = await failureMessage(() => expect(quietDelta()).not.toHaveInjectedDelays(0));
    expect(message).toContain('Expected delays: not 0');
    expect(message).toContain('no fault was injected');
    expect([mixedDelta()]).toEqual([expect.toHaveInjectedDelays(2)]);
  });
});

describe('toHaveInjectedFaults', () => {
  it('passes on the keys given, with asymmetric values', async () => {
    await expect(mixedDelta()).toHaveInjectedFaults({ aborts: 3, delays: 2 });
    await expect(mixedDelta()).toHaveInjectedFaults({ delays: 2 });
    await expect(mixedDelta()).toHaveInjectedFaults({ aborts: expect.any(Number), delays: 2 });
  });

  it('fails with both objects and the table', async () => {
    const message = await failureMessage(() => expect(mixedDelta()).toHaveInjectedFaults({ aborts: 3, delays: 0 }));
    expect(message).toContain('Expected faults: {"aborts": 3, "delays": 0}');
    expect(message).toContain('Received faults: {"aborts": 3, "delays": 2}');
    expect(tableRow(message, 'catalog-local')).toEqual(['catalog-local', '0', '0', '0', '0']);
  });

  it('.not and asymmetric forms', async () => {
    await expect(mixedDelta()).not.toHaveInjectedFaults({ aborts: 0 });
    const message = await failureMessage(() => expect(mixedDelta()).not.toHaveInjectedFaults({ aborts: 3 }));
    expect(message).toContain('Expected faults: not {"aborts": 3}');
    expect(mixedDelta()).toEqual(expect.toHaveInjectedFaults({ aborts: 3, delays: 2 }));
  });
});

describe('toHaveNoInjectedFaults', () => {
  it('passes when nothing was injected', async () => {
    await expect(quietDelta()).toHaveNoInjectedFaults();
  });

  it('fails with what was injected and the table', async () => {
    const message = await failureMessage(() => expect(mixedDelta()).toHaveNoInjectedFaults());
    expect(message).toContain('expect(received).toHaveNoInjectedFaults()');
    expect(message).toContain('Expected: no injected faults');
    expect(message).toContain('Received: 3 aborts, 2 delays, 2 in the delay histogram');
    expect(tableRow(message, 'frontend-local')).toEqual(['frontend-local', '3', '2', '2', '310']);
  });

  it('fails when the metrics are absent: absent is not zero', async () => {
    const bare = new FixtureSidecar('catalog-local', 'none');
    const delta = windowDelta([bare], () => undefined);
    const message = await failureMessage(() => expect(delta).toHaveNoInjectedFaults());
    expect(message).toContain('not trusted: hfi metrics absent on catalog-local');
    expect(message).toContain('the Wasm plugin is not loaded there');
  });

  it('.not passes when faults were injected and fails with "some injected faults" and the zero cause', async () => {
    await expect(mixedDelta()).not.toHaveNoInjectedFaults();
    const message = await failureMessage(() => expect(quietDelta()).not.toHaveNoInjectedFaults());
    expect(message).toContain('Expected: some injected faults');
    expect(message).toContain('no fault was injected: the selector or the match did not hit traffic');
    expect({ catalog: quietDelta() }).toEqual({ catalog: expect.toHaveNoInjectedFaults() });
  });
});
