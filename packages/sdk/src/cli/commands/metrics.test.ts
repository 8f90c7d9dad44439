// `hfi metrics`: the built binary, spawned as a real process, reading a real local sidecar (the real plugin.wasm)
// after a real control plane made it abort and delay real requests.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type StartedControlPlane, startControlPlane } from '@hfi/control-plane';
import type { PolicyWithStatus } from '@hfi/core';
import { type StartedSidecar, startSidecar } from '@hfi/filter';
import { Agent, request } from 'undici';
import { ControlPlaneClient } from '../../client/control-plane-client';
import { DirectSource } from '../../metrics/direct-source';
import { envoyHistogramFor } from '../../metrics/envoy-histogram';
import { histogramQuantile } from '../../metrics/quantile';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '../../../../..');
const BIN = path.join(REPO, 'packages/sdk/bin/hfi.js');
const DELAY_MS = 30;
const ABORTS = 3;
const DELAYS = 4;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function hfi(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The table's rows as cells, up to the blank line before the notes. */
function tableRows(text: string): string[][] {
  const [table = ''] = text.split('\n\n');
  return table
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {3,}/));
}

let upstream: Server;
let cp: StartedControlPlane;
let sidecar: StartedSidecar;
let client: ControlPlaneClient;
/** A port nothing listens on: a target that cannot be scraped. */
let deadUrl: string;
const agent = new Agent({ connections: 4 });

async function send(urlPath: string): Promise<number> {
  const res = await request(`${sidecar.url}${urlPath}`, { dispatcher: agent });
  await res.body.text();
  return res.statusCode;
}

beforeAll(async () => {
  if (!existsSync(path.join(REPO, 'packages/sdk/dist/cli/commands/metrics.js'))) {
    throw new Error('build the CLI first: npx tsc -b packages/sdk');
  }
  upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  cp = await startControlPlane({ logLevel: 'silent' });
  client = new ControlPlaneClient({ url: cp.url });
  sidecar = await startSidecar({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    controlPlane: cp.url,
    workload: 'frontend',
    namespace: 'demo',
    pod: 'frontend-0',
    labels: { app: 'frontend' },
    workers: 2,
    flushIntervalMs: 50,
    logSink: () => undefined,
  });
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  closed.close();
  await once(closed, 'close');

  const stored = (await client.applyPolicy({
    metadata: { name: 'cli-metrics' },
    spec: {
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [
        { match: { path: { exact: '/abort' } }, fault: { percentage: 100, abort: { httpStatus: 503 } } },
        { match: { path: { exact: '/delay' } }, fault: { percentage: 100, delay: { fixed_delay_ms: DELAY_MS } } },
      ],
    },
  })) as PolicyWithStatus;
  // Both workers of the sidecar have applied the policy.
  for (;;) {
    const { nodes } = await client.nodes();
    const acked = nodes.filter((n) => n.pod === 'frontend-0' && n.applied_revision >= stored.status.revision);
    if (acked.length >= 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < ABORTS; i++) expect(await send('/abort')).toBe(503);
  for (let i = 0; i < DELAYS; i++) expect(await send('/delay')).toBe(200);
  expect(await send('/other')).toBe(200);
  // The histogram reaches the stats page at the next flush; wait until it has.
  const source = new DirectSource([sidecar.adminUrl]);
  try {
    for (;;) {
      const { pods } = await source.snapshot();
      if (pods[0]?.metrics.delayHistogram?.count === DELAYS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await source.close();
  }
}, 120_000);

afterAll(async () => {
  await client?.close();
  await sidecar?.close();
  await cp?.close();
  await agent.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

describe('hfi metrics --target against a real local sidecar', () => {
  it('prints the counters, the histogram count and sum, and its quantiles per pod', async () => {
    const run = await hfi(['metrics', '--target', sidecar.adminUrl]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = tableRows(run.stdout);
    expect(rows[0]).toEqual(['POD', 'ABORTS', 'DELAYS', 'DELAY COUNT', 'DELAY SUM MS', 'P50 MS', 'P99 MS']);
    expect(rows).toHaveLength(2);
    const expected = envoyHistogramFor(Array(DELAYS).fill(DELAY_MS));
    const num = (v: number) => String(Number(v.toFixed(3)));
    expect(rows[1]).toEqual([
      sidecar.adminUrl,
      String(ABORTS),
      String(DELAYS),
      String(DELAYS),
      num(expected.sum),
      num(histogramQuantile(0.5, expected.buckets)),
      num(histogramQuantile(0.99, expected.buckets)),
    ]);
  });

  it('-o json carries the same numbers', async () => {
    const run = await hfi(['metrics', '--target', sidecar.adminUrl, '-o', 'json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      pods: { pod: string; aborts: number; delays: number; delayCount: number }[];
    };
    expect(out.pods).toEqual([
      expect.objectContaining({ pod: sidecar.adminUrl, aborts: ABORTS, delays: DELAYS, delayCount: DELAYS }),
    ]);
  });

  it('shows a pod it could not read after the table and still exits 0 when another pod was read', async () => {
    const run = await hfi(['metrics', '--target', sidecar.adminUrl, '--target', deadUrl]);
    expect(run.code).toBe(0);
    const rows = tableRows(run.stdout);
    expect(rows[2]).toEqual([deadUrl, '-', '-', '-', '-', '-', '-']);
    expect(run.stdout).toContain(`${deadUrl}: not read: `);
    expect(run.stdout).toMatch(/ECONNREFUSED/);
  });

  it('exits 1 with one error line when no pod could be read', async () => {
    const run = await hfi(['metrics', '--target', deadUrl]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Error: every metrics scrape failed: .*\(HFI_ERR_METRICS_SCRAPE\)\n$/);
  });

  it('names the likely causes when the hfi families are absent from a page', async () => {
    // The upstream answers every path with "ok": a stats page without any metric.
    const run = await hfi(['metrics', '--target', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`]);
    expect(run.code).toBe(0);
    expect(tableRows(run.stdout)[1]?.slice(1)).toEqual(['-', '-', '-', '-', '-', '-']);
    expect(run.stdout).toContain('plugin is not loaded');
    expect(run.stdout).toContain('stats matcher');
  });
});

describe('hfi metrics usage errors', () => {
  it.each([
    [[], 'give exactly one of --target, --k8s or --prometheus'],
    [['--target', 'http://127.0.0.1:1', '--prometheus', 'http://127.0.0.1:2'], 'give exactly one of'],
    [['--k8s', 'demo'], '--k8s wants NAMESPACE/LABELSELECTOR'],
    [['--target', 'not a url'], 'not a URL'],
    [['--target', 'http://127.0.0.1:1', '--selector', '{a="b"}'], '--selector goes with --prometheus'],
  ])('hfi metrics %j exits 2 with a usage hint', async (args, message) => {
    const run = await hfi(['metrics', ...args]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("Run 'hfi metrics --help' for details.");
  });
});
