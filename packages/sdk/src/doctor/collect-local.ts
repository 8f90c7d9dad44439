// Evidence from local sidecars through their admin endpoints (and, when given, their log files): what an operator
// would curl on :15000 inside the pod.
import { readFile } from 'node:fs/promises';
import { HfiError } from '@hfi/core';
import type { Page, SidecarEvidence, WorkloadIdentityEvidence } from './evidence';
import { asRecord, bodyOf, getText, parseJson } from './http';
import type { LocalTarget } from './types';

function adminBase(raw: string, index: number): URL {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch (cause) {
    throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', `--admin ${JSON.stringify(raw)} is not a URL`, {
      field: `sidecars[${index}]`,
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', `--admin ${raw} must be an http(s) URL`, {
      field: `sidecars[${index}]`,
    });
  }
  // `<admin>/stats/prometheus` given: the admin base is what precedes it.
  url.pathname = url.pathname.replace(/\/stats\/prometheus\/?$/, '').replace(/\/+$/, '');
  url.search = '';
  return url;
}

export function localTargets(sidecars: readonly (string | LocalTarget)[]): { base: URL; logFile?: string }[] {
  if (sidecars.length === 0) {
    throw new HfiError('HFI_ERR_DOCTOR_OPTIONS', 'local mode needs at least one sidecar admin URL (--admin URL)', {
      field: 'sidecars',
    });
  }
  return sidecars.map((s, i) => {
    const target = typeof s === 'string' ? { admin: s } : s;
    return { base: adminBase(target.admin, i), ...(target.logFile ? { logFile: target.logFile } : {}) };
  });
}

/** Istio's node metadata on /server_info: NAME, NAMESPACE, WORKLOAD_NAME, LABELS (and node.id as a fallback). */
export function identityFromServerInfo(serverInfo: unknown): WorkloadIdentityEvidence {
  const node = asRecord(asRecord(serverInfo)?.node);
  const metadata = asRecord(node?.metadata) ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const identity: WorkloadIdentityEvidence = {};
  const fromId = /^sidecar~[^~]*~([^.~]+)\.([^~]+)~/.exec(typeof node?.id === 'string' ? node.id : '');
  const pod = str(metadata.NAME) ?? fromId?.[1];
  const namespace = str(metadata.NAMESPACE) ?? fromId?.[2];
  const workload = str(metadata.WORKLOAD_NAME);
  if (pod) identity.pod = pod;
  if (namespace) identity.namespace = namespace;
  if (workload) identity.workload = workload;
  const labels = asRecord(metadata.LABELS);
  if (labels) {
    identity.labels = Object.fromEntries(
      Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  }
  return identity;
}

async function readLog(file: string): Promise<SidecarEvidence['logs']> {
  try {
    const text = await readFile(file, 'utf8');
    return { lines: text.split('\n').filter((l) => l !== ''), source: file };
  } catch (err) {
    return { error: `${file}: ${(err as Error).message}` };
  }
}

export async function collectLocal(
  targets: readonly { base: URL; logFile?: string }[],
  timeoutMs: number,
): Promise<SidecarEvidence[]> {
  return Promise.all(
    targets.map(async ({ base, logFile }) => {
      const root = base.toString().replace(/\/+$/, '');
      const read = async (path: string): Promise<Page> =>
        bodyOf(await getText(`${root}${path}`, { timeoutMs }), `${root}${path}`);
      const [prometheus, stats, serverInfo, configDump, logs] = await Promise.all([
        read('/stats/prometheus'),
        read('/stats'),
        read('/server_info'),
        read('/config_dump'),
        logFile === undefined ? Promise.resolve(undefined) : readLog(logFile),
      ]);
      const info = 'text' in serverInfo ? parseJson(serverInfo.text) : undefined;
      return {
        name: root,
        statsUrl: `${root}/stats/prometheus`,
        identity: identityFromServerInfo(info),
        prometheus,
        scrapedAtMs: Date.now(),
        stats,
        configDump,
        ...(logs === undefined ? {} : { logs }),
        scrapeAddresses: [base.host],
      };
    }),
  );
}

/** Reads `/stats/prometheus` again (the restart check's second scrape). */
export async function rescrape(
  evidence: SidecarEvidence,
  timeoutMs: number,
  headers?: Record<string, string>,
): Promise<Page> {
  return bodyOf(await getText(evidence.statsUrl, { timeoutMs, ...(headers ? { headers } : {}) }), evidence.statsUrl);
}
