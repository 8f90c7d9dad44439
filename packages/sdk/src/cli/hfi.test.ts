// The built `hfi` binary, spawned as a real process against real control planes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startControlPlane } from '@hfi/control-plane';
import type { Policy, PolicyWithStatus } from '@hfi/core';
import { parse as parseYaml } from 'yaml';
import { ControlPlaneClient } from '../client/control-plane-client';

const REPO = path.resolve(__dirname, '../../../..');
const BIN = path.join(REPO, 'packages/sdk/bin/hfi.js');
const EXAMPLES = path.join(REPO, 'examples/policies');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with only the environment given (no inherited HFI_* variables). */
async function hfi(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(opts.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Table rows as cells (columns are separated by three or more spaces). */
function tableRows(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {3,}/));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

const examplePath = (...parts: string[]) => path.join(EXAMPLES, ...parts);

beforeAll(() => {
  if (!existsSync(path.join(REPO, 'packages/sdk/dist/cli/main.js'))) {
    throw new Error('build the CLI first: npx tsc -b packages/sdk');
  }
});

describe('hfi policy commands against a real control plane', () => {
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  let addr: string[];

  beforeAll(async () => {
    cp = await startControlPlane({ listen: '127.0.0.1:0', logLevel: 'silent' });
    addr = ['--control-plane-addr', cp.url];
  });

  afterAll(async () => {
    await cp?.close();
  });

  it('prints the empty-list sentence before anything is applied', async () => {
    const run = await hfi(['policy', 'list', ...addr]);
    expect(run).toEqual({ code: 0, stdout: 'No fault injection policies found.\n', stderr: '' });
  });

  it.each([
    ['basic/abort-policy.yaml', ['abort-policy']],
    ['basic/delay-policy.yaml', ['delay-policy']],
    ['basic/percentage-policy.yaml', ['percentage-policy']],
    ['advanced/header-policy.yaml', ['header-policy']],
    ['advanced/late-stage-policy.yaml', ['late-stage-policy']],
    ['advanced/time-limited-policy.yaml', ['time-limited-policy']],
    ['advanced/service-targeted-policy.yaml', ['frontend-delay', 'global-abort', 'namespace-delay', 'legacy-policy']],
    ['legacy/delayed-timed-fault-policy.yaml', ['delayed-timed-fault-policy']],
    ['legacy/immediate-fault-policy.yaml', ['immediate-fault-policy']],
  ])('applies every document of %s', async (file, names) => {
    const run = await hfi(['policy', 'apply', '-f', examplePath(...file.split('/')), ...addr]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(names.map((name) => `faultinjectionpolicy.hfi.dev "${name}" applied\n`).join(''));
  });

  it('covers every example file in the tests above', () => {
    const files = ['basic', 'advanced', 'legacy'].flatMap((dir) =>
      readdirSync(examplePath(dir)).map((file) => `${dir}/${file}`),
    );
    expect(files.sort()).toEqual(
      [
        'basic/abort-policy.yaml',
        'basic/delay-policy.yaml',
        'basic/percentage-policy.yaml',
        'advanced/header-policy.yaml',
        'advanced/late-stage-policy.yaml',
        'advanced/time-limited-policy.yaml',
        'advanced/service-targeted-policy.yaml',
        'legacy/delayed-timed-fault-policy.yaml',
        'legacy/immediate-fault-policy.yaml',
        'legacy/invalid-policy.yaml',
        'legacy/old-delay-format-policy.yaml',
      ].sort(),
    );
  });

  it('rejects the example without a name before sending anything, with the field and message', async () => {
    const run = await hfi(['policy', 'apply', '-f', examplePath('legacy', 'invalid-policy.yaml'), ...addr]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('Error: invalid policy: metadata.name: policy name is required (HFI_ERR_POLICY_INVALID)\n');
  });

  it('rejects the old string delay format with a message naming the field', async () => {
    const run = await hfi(['policy', 'apply', '-f', examplePath('legacy', 'old-delay-format-policy.yaml'), ...addr]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Error: invalid policy: spec\.rules\[0\]\.fault\S*: .+ \(HFI_ERR_POLICY_INVALID\)\n$/);
    const listed = await hfi(['policy', 'get', 'late-stage-fault-policy', ...addr]);
    expect(listed.code).toBe(1);
  });

  it('lists in the reference table columns', async () => {
    const run = await hfi(['policy', 'list', ...addr]);
    expect(run.code).toBe(0);
    const rows = tableRows(run.stdout);
    expect(rows[0]).toEqual(['NAME', 'RULES', 'MATCHES', 'FAULTS']);
    expect(rows).toContainEqual(['abort-policy', '1', 'method=GET,path=/', 'abort(503)@100%']);
    expect(rows).toContainEqual(['delay-policy', '1', 'method=GET,path=/', 'delay(1000ms)@100%']);
    expect(rows).toContainEqual(['header-policy', '1', 'method=GET,path=/,headers(1)', 'delay(800ms)@100%']);
    expect(rows).toContainEqual(['late-stage-policy', '1', 'method=POST,path=/api/*', 'delay(2000ms)@20%']);
    expect(rows).toContainEqual(['legacy-policy', '1', 'method=GET,path=/health', 'delay(100ms)']);
    expect(rows).toHaveLength(1 + 12);
  });

  it('prints the list as YAML and JSON with selectors', async () => {
    const yamlRun = await hfi(['policy', 'list', '-o', 'yaml', ...addr]);
    expect(yamlRun.code).toBe(0);
    const fromYaml = parseYaml(yamlRun.stdout) as PolicyWithStatus[];
    const globalAbort = fromYaml.find((p) => p.metadata.name === 'global-abort');
    expect(globalAbort?.spec.selector).toEqual({ service: '*', namespace: '*' });

    const jsonRun = await hfi(['policy', 'get', '-o', 'json', ...addr]);
    expect(jsonRun.code).toBe(0);
    const fromJson = JSON.parse(jsonRun.stdout) as PolicyWithStatus[];
    expect(fromJson.map((p) => p.metadata.name)).toEqual(fromYaml.map((p) => p.metadata.name));
    expect(fromJson.find((p) => p.metadata.name === 'abort-policy')?.spec.selector).toEqual({
      service: 'frontend',
      namespace: 'demo',
    });
  });

  it('gets one policy as a table, YAML and JSON', async () => {
    const table = await hfi(['policy', 'get', 'percentage-policy', ...addr]);
    expect(tableRows(table.stdout)).toEqual([
      ['NAME', 'RULES', 'MATCHES', 'FAULTS'],
      ['percentage-policy', '1', 'method=GET,path=/', 'delay(500ms)@50%'],
    ]);
    const yamlRun = await hfi(['policy', 'get', 'time-limited-policy', '-o', 'yaml', ...addr]);
    const one = parseYaml(yamlRun.stdout) as PolicyWithStatus;
    expect(one.spec.selector).toEqual({ service: 'frontend', namespace: 'demo' });
    expect(one.spec.rules[0]?.fault.duration_seconds).toBe(300);
    expect(one.status.rules[0]?.active).toBe(true);
    const jsonRun = await hfi(['policy', 'get', 'time-limited-policy', '-o', 'json', ...addr]);
    expect((JSON.parse(jsonRun.stdout) as PolicyWithStatus).spec).toEqual(one.spec);
  });

  it('describes a policy in the reference layout with selector and status', async () => {
    const run = await hfi(['policy', 'describe', 'late-stage-policy', ...addr]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('Name: late-stage-policy');
    expect(lines).toContain('Selector: service=frontend namespace=demo');
    expect(lines).toContain('Total Rules: 1');
    expect(run.stdout).toContain(
      [
        'Rule 1:',
        '  Match Conditions:',
        '    Method:',
        '      Exact: POST',
        '    Path:',
        '      Prefix: /api/',
        '  Fault Actions:',
        '    Percentage: 20%',
        '    Start Delay: 500 ms',
        '    Duration: 0 seconds',
        '    Delay: 2000 ms',
        '  Status: active',
      ].join('\n'),
    );
  });

  it('applies from stdin with -f - and sets --duration-seconds on every rule', async () => {
    const twoRules: Policy = {
      metadata: { name: 'from-stdin' },
      spec: {
        rules: [
          { match: { path: { exact: '/a' } }, fault: { percentage: 10, abort: { httpStatus: 500 } } },
          { match: { path: { exact: '/b' } }, fault: { percentage: 10, delay: { fixed_delay_ms: 20 } } },
        ],
      },
    };
    const run = await hfi(['policy', 'apply', '-f', '-', '--duration-seconds', '120', ...addr], {
      input: JSON.stringify(twoRules),
    });
    expect(run).toMatchObject({ code: 0, stdout: 'faultinjectionpolicy.hfi.dev "from-stdin" applied\n' });
    const stored = JSON.parse((await hfi(['policy', 'get', 'from-stdin', '-o', 'json', ...addr])).stdout) as Policy;
    expect(stored.spec.rules.map((r) => r.fault.duration_seconds)).toEqual([120, 120]);
  });

  it('applies nothing from a multi-document input when one document is invalid', async () => {
    const input = [
      'metadata: {name: first-of-two}\nspec:\n  rules:\n    - match: {path: {exact: /}}\n      fault: {percentage: 1, abort: {httpStatus: 500}}',
      'metadata: {name: second-of-two}\nspec:\n  rules:\n    - match: {path: {exact: /}}\n      fault: {percentage: 101, abort: {httpStatus: 500}}',
    ].join('\n---\n');
    const run = await hfi(['policy', 'apply', '-f', '-', ...addr], { input });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^Error: invalid policy: spec\.rules\[0\]\.fault\.percentage: percentage must be between 0 and 100 \(document 2 of .+\) \(HFI_ERR_POLICY_INVALID\)\n$/,
    );
    expect((await hfi(['policy', 'get', 'first-of-two', ...addr])).code).toBe(1);
  });

  it('shows the status summary', async () => {
    const run = await hfi(['policy', 'status', ...addr]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Total Policies: \d+\nAbort Policies: \d+\nDelay Policies: \d+\nActive Policies: \d+\n/,
    );
    expect(tableRows(run.stdout.split('\n\n')[1] ?? '')).toContainEqual([
      'global-abort',
      '*',
      '*',
      '1',
      'abort',
      'yes',
    ]);
  });

  it('deletes a policy, then reports it as not found', async () => {
    const run = await hfi(['policy', 'delete', 'abort-policy', ...addr]);
    expect(run).toEqual({ code: 0, stdout: 'faultinjectionpolicy.hfi.dev "abort-policy" deleted\n', stderr: '' });
    for (const command of [['get'], ['describe'], ['delete']]) {
      const again = await hfi(['policy', ...command, 'abort-policy', ...addr]);
      expect(again).toEqual({
        code: 1,
        stdout: '',
        stderr: 'Error: policy "abort-policy" not found (HFI_ERR_POLICY_NOT_FOUND)\n',
      });
    }
  });

  it('lists the sidecars that have polled, with their applied revision', async () => {
    await using client = new ControlPlaneClient({ url: cp.url });
    const { revision } = await client.listPolicies();
    await client.watchPolicies({
      revision,
      timeoutMs: 1,
      identity: { instance: 'web-1#0', workload: 'web', namespace: 'demo', pod: 'web-1' },
    });
    const run = await hfi(['nodes', ...addr]);
    expect(run.code).toBe(0);
    const rows = tableRows(run.stdout.split('\n').slice(1).join('\n'));
    expect(run.stdout.split('\n')[0]).toBe(`Control plane revision: ${revision}`);
    expect(rows[0]).toEqual(['POD', 'NAMESPACE', 'WORKLOAD', 'INSTANCE', 'APPLIED REVISION', 'STATE', 'LAST SEEN']);
    expect(rows[1]?.slice(0, 6)).toEqual(['web-1', 'demo', 'web', 'web-1#0', String(revision), 'in sync']);
  });

  it('reads the address from HFI_CONTROL_PLANE_ADDR', async () => {
    const run = await hfi(['policy', 'get', 'delay-policy'], { env: { HFI_CONTROL_PLANE_ADDR: cp.url } });
    expect(run.code).toBe(0);
    expect(tableRows(run.stdout)[1]?.[0]).toBe('delay-policy');
  });
});

describe('hfi against a token-protected control plane', () => {
  let cp: Awaited<ReturnType<typeof startControlPlane>>;

  beforeAll(async () => {
    cp = await startControlPlane({ listen: '127.0.0.1:0', token: 'tok-123', logLevel: 'silent' });
  });

  afterAll(async () => {
    await cp?.close();
  });

  const abortFile = examplePath('basic', 'abort-policy.yaml');

  it('says a token is needed when a write carries none (401)', async () => {
    const run = await hfi(['policy', 'apply', '-f', abortFile, '--control-plane-addr', cp.url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Error: .+; pass --token or set HFI_TOKEN \(HFI_ERR_UNAUTHORIZED\)\n$/);
  });

  it('writes with --token or HFI_TOKEN, and reads without one', async () => {
    const withFlag = await hfi([
      'policy',
      'apply',
      '-f',
      abortFile,
      '--control-plane-addr',
      cp.url,
      '--token',
      'tok-123',
    ]);
    expect(withFlag).toEqual({ code: 0, stdout: 'faultinjectionpolicy.hfi.dev "abort-policy" applied\n', stderr: '' });
    const read = await hfi(['policy', 'get', 'abort-policy', '--control-plane-addr', cp.url]);
    expect(read.code).toBe(0);
    const withEnv = await hfi(['--control-plane-addr', cp.url, 'policy', 'delete', 'abort-policy'], {
      env: { HFI_TOKEN: 'tok-123' },
    });
    expect(withEnv).toEqual({ code: 0, stdout: 'faultinjectionpolicy.hfi.dev "abort-policy" deleted\n', stderr: '' });
  });
});

describe('hfi against a control plane with a lower delay ceiling', () => {
  let cp: Awaited<ReturnType<typeof startControlPlane>>;

  beforeAll(async () => {
    cp = await startControlPlane({ listen: '127.0.0.1:0', maxDelayMs: 500, logLevel: 'silent' });
  });

  afterAll(async () => {
    await cp?.close();
  });

  it('leaves the ceiling to the server and prints its rejection like a client-side one', async () => {
    const run = await hfi([
      'policy',
      'apply',
      '-f',
      examplePath('basic', 'delay-policy.yaml'),
      '--control-plane-addr',
      cp.url,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^Error: invalid policy: spec\.rules\[0\]\.fault\.delay\.fixed_delay_ms: .*500.* \(HFI_ERR_POLICY_INVALID\)\n$/,
    );
  });
});

describe('hfi failures', () => {
  it('says the control plane is unreachable, with the URL and the cause', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await hfi(['policy', 'list', '--control-plane-addr', url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(
        `^Error: control plane unreachable at ${url}: .*ECONNREFUSED.* \\(HFI_ERR_CONTROL_PLANE_UNREACHABLE\\)\\n$`,
      ),
    );
  });

  it('gives up after --timeout on a fake control plane that never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const run = await hfi(['policy', 'list', '--control-plane-addr', url, '--timeout', '300ms']);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `Error: control plane at ${url} did not answer GET /v1/policies within 300ms (HFI_ERR_TIMEOUT)\n`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('treats an unknown flag as a usage error: exit 2, the error and a usage hint', async () => {
    const run = await hfi(['policy', 'list', '--bogus']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe("Error: unknown option '--bogus'");
    expect(lines[1]).toMatch(/^Usage: hfi policy list /);
  });

  it.each([
    [['policy', 'list', '--control-plane-addr', 'ftp://example.com'], /the scheme must be http or https/],
    [['policy', 'list', '--timeout', '30'], /not a duration/],
    [['policy', 'list', '-o', 'xml'], /Allowed choices are table, yaml, json/],
    [['policy', 'apply'], /required option '-f, --filename <file>' not specified/],
    [['policy', 'describe'], /missing required argument 'name'/],
  ])('rejects %j as a usage error', async (args, message) => {
    const run = await hfi(args);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(/^Error: /);
    expect(run.stderr).toMatch(message);
  });

  it('rejects a bad HFI_CONTROL_PLANE_ADDR as a usage error', async () => {
    const run = await hfi(['policy', 'list'], { env: { HFI_CONTROL_PLANE_ADDR: 'localhost:8080' } });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(/^Error: HFI_CONTROL_PLANE_ADDR: .*scheme must be http or https/);
  });

  it('reports a missing file as one line with exit 1', async () => {
    const run = await hfi(['policy', 'apply', '-f', path.join(REPO, 'no-such-file.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^Error: .*no-such-file\.yaml.* \(HFI_ERR_INPUT_READ\)\n$/);
  });

  it('documents the every-rule override and the exit codes in --help', async () => {
    const apply = await hfi(['policy', 'apply', '--help']);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain(
      '--start-delay-ms and --duration-seconds change every rule (the reference CLI changed only the first).',
    );
    const root = await hfi(['--help']);
    expect(root.stdout).toMatch(/Exit codes: 0 success; 1 the command failed/);
  });
});

describe('hfi control-plane', () => {
  it('serves the API on the given port, with the given token, until SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'control-plane', '--listen', `127.0.0.1:${port}`, '--token', 't0k'], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    // Resolves on the control plane's start log line, or when the process ends without one.
    const started = new Promise<boolean>((resolve) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"control plane started"')) resolve(true);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', () => resolve(false));
    });
    const exited = once(child, 'exit');
    const url = `http://127.0.0.1:${port}`;
    try {
      expect({ started: await started, output }).toEqual({ started: true, output: expect.stringContaining(url) });
      await using client = new ControlPlaneClient({ url });
      await expect(client.health()).resolves.toEqual({ status: 'healthy' });

      const file = examplePath('basic', 'delay-policy.yaml');
      const refused = await hfi(['policy', 'apply', '-f', file, '--control-plane-addr', url]);
      expect(refused.stderr).toMatch(/\(HFI_ERR_UNAUTHORIZED\)\n$/);
      const apply = await hfi(['policy', 'apply', '-f', file, '--control-plane-addr', url, '--token', 't0k']);
      expect(apply.stdout).toBe('faultinjectionpolicy.hfi.dev "delay-policy" applied\n');
      const list = await hfi(['policy', 'list', '--control-plane-addr', url]);
      expect(tableRows(list.stdout)[1]).toEqual(['delay-policy', '1', 'method=GET,path=/', 'delay(1000ms)@100%']);
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, output }).toMatchObject({ code: 0, signal: null });
  });

  it('reports a bad store setting as one line with exit 1', async () => {
    const run = await hfi(['control-plane', '--listen', '127.0.0.1:0', '--store', 'nosuch:thing']);
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^Error: .*nosuch.* \(HFI_ERR_CONFIG\)\n$/);
  });
});
