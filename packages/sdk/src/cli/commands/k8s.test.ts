// `hfi k8s …` through the real command tree (in process, buffered streams).
import { Readable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { type CliIo, EXIT_FAILURE, EXIT_OK } from '../io';
import { runCli } from '../program';

// A fixed digest keeps these runs independent of the filter build (manifests.test.ts checks the real one).
const SHA = ['--plugin-sha256', 'cd'.repeat(32)];

async function hfi(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

// biome-ignore lint/suspicious/noExplicitAny: the assertions walk arbitrary manifest JSON
type Json = Record<string, any>;

function documents(yamlText: string): Json[] {
  return parseAllDocuments(yamlText).map((d) => d.toJSON() as Json);
}

describe('hfi k8s manifests', () => {
  it('prints the manifests as YAML with the seed defaults and the given token', async () => {
    const run = await hfi(['k8s', 'manifests', '--token', 'cli-token-0123456789abc', ...SHA]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT_OK);
    const docs = documents(run.stdout);
    const byKind = (kind: string) => docs.find((d) => d.kind === kind) as Json;
    expect(byKind('Namespace').metadata.name).toBe('boifi');
    expect(byKind('Secret').stringData.token).toBe('cli-token-0123456789abc');
    expect(byKind('WasmPlugin').metadata.namespace).toBe('demo');
    expect(byKind('WasmPlugin').spec.selector.matchLabels).toEqual({ app: 'frontend' });
    expect(byKind('WasmPlugin').spec.sha256).toBe('cd'.repeat(32));
    expect(byKind('EnvoyFilter')).toBeDefined();
    expect(byKind('ConfigMap').metadata.name).toBe('hfi-grafana-dashboard');
  });

  it('accepts the global --token before the subcommand too', async () => {
    const run = await hfi(['--token', 'before-token-0123456789', 'k8s', 'manifests', ...SHA]);
    expect(run.code).toBe(EXIT_OK);
    expect(documents(run.stdout).find((d) => d.kind === 'Secret')?.stringData.token).toBe('before-token-0123456789');
  });

  it('generates a token when none is given (HFI_TOKEN is not read) and says where it is', async () => {
    const run = await hfi(['k8s', 'manifests', ...SHA], { HFI_TOKEN: 'local-dev-token-000000' });
    expect(run.code).toBe(EXIT_OK);
    const token = documents(run.stdout).find((d) => d.kind === 'Secret')?.stringData.token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(run.stdout).not.toContain('local-dev-token-000000');
    expect(run.stderr).toBe(
      'Generated a random control plane token into Secret boifi/hfi-control-plane-token; pass --token to choose one.\n',
    );
  });

  it('follows the flags', async () => {
    const run = await hfi([
      'k8s',
      'manifests',
      ...SHA,
      '--token=flag-token-0123456789',
      '--namespace',
      'chaos',
      '--target-namespace',
      'shop',
      '--target-selector',
      'app=checkout',
      '--replicas',
      '3',
      '--etcd-replicas',
      '5',
      '--image',
      'registry.local/hfi:dev',
      '--no-envoyfilter',
      '--no-dashboard',
      '--prometheus-rule',
      '-o',
      'json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT_OK);
    const list = JSON.parse(run.stdout);
    expect(list.kind).toBe('List');
    const kinds = list.items.map((o: Json) => o.kind);
    expect(kinds).not.toContain('EnvoyFilter');
    expect(kinds).not.toContain('ConfigMap');
    expect(kinds).toContain('PrometheusRule');
    const deployment = list.items.find((o: Json) => o.kind === 'Deployment');
    expect(deployment.metadata.namespace).toBe('chaos');
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.spec.containers[0].image).toBe('registry.local/hfi:dev');
    expect(list.items.find((o: Json) => o.kind === 'StatefulSet').spec.replicas).toBe(5);
    const plugin = list.items.find((o: Json) => o.kind === 'WasmPlugin');
    expect(plugin.metadata.namespace).toBe('shop');
    expect(plugin.spec.selector.matchLabels).toEqual({ app: 'checkout' });
    expect(plugin.spec.url).toBe('http://hfi-control-plane.chaos.svc.cluster.local:8080/v1/plugin.wasm');
  });

  it.each([
    [
      ['--etcd-replicas', '4'],
      'Error: --etcd-replicas: 4 is even; use an odd number (1, 3, 5, 7 or 9) so a quorum survives failures (HFI_ERR_CONFIG)',
    ],
    [['--replicas', 'two'], 'Error: --replicas: "two" is not a whole number from 1 to 20 (HFI_ERR_CONFIG)'],
    [['-o', 'xml'], 'Error: --output: "xml" is not one of yaml, json (HFI_ERR_CONFIG)'],
    [
      ['--target-selector', 'frontend'],
      'Error: --target-selector: "frontend" is not key=value (e.g. app=frontend) (HFI_ERR_CONFIG)',
    ],
  ])('%j fails with exit 1 and one error line', async (flags, line) => {
    const run = await hfi(['k8s', 'manifests', ...SHA, ...flags]);
    expect(run.code).toBe(EXIT_FAILURE);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`${line}\n`);
  });

  it('lists its flags and the placeholder image in --help', async () => {
    const run = await hfi(['k8s', 'manifests', '--help']);
    expect(run.code).toBe(EXIT_OK);
    for (const flag of ['--namespace', '--target-namespace', '--target-selector', '--replicas', '--etcd-replicas']) {
      expect(run.stdout).toContain(flag);
    }
    expect(run.stdout).toMatch(/--image <ref>\s+control plane image: a placeholder/);
    expect(run.stdout).toContain('--no-envoyfilter');
    expect(run.stdout).toContain('--no-dashboard');
  });
});

describe('hfi k8s dashboard and prometheus-rules', () => {
  it('prints the dashboard JSON', async () => {
    const run = await hfi(['k8s', 'dashboard']);
    expect(run.code).toBe(EXIT_OK);
    expect(JSON.parse(run.stdout)).toMatchObject({ uid: 'hfi-faults', title: 'hfi fault injection' });
  });

  it('prints the PrometheusRule in the chosen namespace', async () => {
    const run = await hfi(['k8s', 'prometheus-rules', '--namespace', 'monitoring']);
    expect(run.code).toBe(EXIT_OK);
    const [rule] = documents(run.stdout);
    expect(rule).toMatchObject({
      kind: 'PrometheusRule',
      metadata: { name: 'hfi-fault-alerts', namespace: 'monitoring' },
    });
    expect(rule.spec.groups[0].rules.map((r: Json) => r.alert)).toEqual(['HfiFaultsWithoutPolicy', 'HfiAbortRateHigh']);
  });
});
