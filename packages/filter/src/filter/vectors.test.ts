// The shared matching vectors (policy + identity + request -> which rule) run through the compiled plugin. The
// same files drive the TypeScript reference matcher in @hfi/core, which keeps the two in agreement.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeIdentity } from '../host/node-identity';
import { answerTo, CannedControlPlane, startVm, type TestVm } from './__tests__/harness';

interface Vector {
  name: string;
  policies: { metadata: { name: string }; spec: { rules: { fault: unknown }[] } }[];
  identity: { workload: string; namespace: string; labels?: Record<string, string> };
  request: { method: string; path: string; headers: [string, string][] };
  expect: { policy: string | null; rule: number | null } | null;
}

const FILES = [
  path.resolve(__dirname, '..', '..', 'test-vectors', 'match.json'),
  path.resolve(__dirname, '..', '..', '..', 'core', 'test-vectors', 'match.json'),
].filter((file) => existsSync(file));

/** Every rule answers with an abort whose status names the rule, so the response tells which rule matched. */
function tagRules(policies: Vector['policies']): unknown[] {
  return policies.map((p) => {
    const copy = structuredClone(p);
    copy.spec.rules = copy.spec.rules.map((rule, i) => ({
      ...rule,
      fault: { percentage: 100, abort: { httpStatus: 500 + i } },
    }));
    return copy;
  });
}

describe.each(FILES.map((file) => [path.relative(path.resolve(__dirname, '..', '..', '..'), file), file]))(
  'match vectors %s through plugin.wasm',
  (_label, file) => {
    const vectors = JSON.parse(readFileSync(file, 'utf8')) as Vector[];
    let cp: CannedControlPlane;
    const vms = new Map<string, TestVm>();

    beforeAll(async () => {
      cp = await new CannedControlPlane().start();
    });

    afterAll(async () => {
      for (const t of vms.values()) await t.close();
      await cp.close();
    });

    /** One VM per identity; they all watch the same canned control plane. */
    async function vmFor(identity: Vector['identity']): Promise<TestVm> {
      const key = JSON.stringify(identity);
      let t = vms.get(key);
      if (!t) {
        const node: NodeIdentity = {
          workload: identity.workload,
          namespace: identity.namespace,
          labels: identity.labels ?? {},
        };
        t = await startVm({ controlPlane: cp, node, pluginConfig: { log_level: 'info' }, logLevel: 'info' });
        vms.set(key, t);
      }
      return t;
    }

    test('the file holds vectors', () => {
      expect(vectors.length).toBeGreaterThan(10);
    });

    test.each(vectors.map((v) => [v.name, v]))('%s', async (_name, v) => {
      const t = await vmFor(v.identity);
      const revision = cp.publish(tagRules(v.policies));
      await t.waitForLog((m) => m.startsWith(`hfi: applied revision ${revision}:`));
      const { action, answer } = answerTo(t.vm, [
        [':method', v.request.method],
        [':path', v.request.path],
        [':authority', 'svc.test'],
        ...v.request.headers,
      ]);
      const got = answer === null ? null : { policy: answer.policy, rule: answer.status - 500 };
      const expected =
        v.expect === null || v.expect.policy === null ? null : { policy: v.expect.policy, rule: v.expect.rule };
      expect(got).toEqual(expected);
      expect(action).toBe(expected === null ? 'continue' : 'pause');
      expect(t.vm.trapped).toBe(false);
    });
  },
);
