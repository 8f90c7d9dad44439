// The doctor's snapshot file: each sidecar's counters and uptime at the end of a run, so the next run can tell
// "counters lower than before" apart from "never counted" (the seed's Problem 3).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { HfiError } from '@hfi/core';
import type { SidecarFacts } from './facts';

export interface BaselineEntry {
  /** When this sidecar was read (ISO 8601). */
  takenAt: string;
  uptimeSeconds?: number;
  aborts?: number;
  delays?: number;
  delayCount?: number;
  /** Kubernetes: the pod UID (a new one is a new pod) and istio-proxy's restart count. */
  uid?: string;
  proxyRestartCount?: number;
}

export interface Baseline {
  hfiDoctorBaseline: 1;
  takenAt: string;
  sidecars: Record<string, BaselineEntry>;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function checkEntry(value: unknown, name: string, file: string, fileTakenAt: string): BaselineEntry {
  if (typeof value !== 'object' || value === null) {
    throw new HfiError('HFI_ERR_DOCTOR_BASELINE', `${file}: sidecars["${name}"] is not an object`, {
      field: `sidecars.${name}`,
      details: { file },
    });
  }
  const v = value as Record<string, unknown>;
  const takenAt = typeof v.takenAt === 'string' && !Number.isNaN(Date.parse(v.takenAt)) ? v.takenAt : fileTakenAt;
  const entry: BaselineEntry = { takenAt };
  for (const key of ['uptimeSeconds', 'aborts', 'delays', 'delayCount', 'proxyRestartCount'] as const) {
    if (v[key] === undefined) continue;
    if (!isCount(v[key])) {
      throw new HfiError('HFI_ERR_DOCTOR_BASELINE', `${file}: sidecars["${name}"].${key} must be a count`, {
        field: `sidecars.${name}.${key}`,
        details: { file, received: v[key] },
      });
    }
    entry[key] = v[key] as number;
  }
  if (typeof v.uid === 'string') entry.uid = v.uid;
  return entry;
}

/** Undefined when the file does not exist yet (the first run); HFI_ERR_DOCTOR_BASELINE when it is not a baseline. */
export async function readBaseline(file: string): Promise<Baseline | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HfiError('HFI_ERR_DOCTOR_BASELINE', `${file} could not be read: ${(err as Error).message}`, {
      field: 'baseline',
      cause: err,
      details: { file },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new HfiError('HFI_ERR_DOCTOR_BASELINE', `${file} is not JSON: ${(err as Error).message}`, {
      field: 'baseline',
      cause: err,
      details: { file },
    });
  }
  const object = parsed as Partial<Baseline> | null;
  if (
    object?.hfiDoctorBaseline !== 1 ||
    typeof object.takenAt !== 'string' ||
    Number.isNaN(Date.parse(object.takenAt))
  ) {
    throw new HfiError(
      'HFI_ERR_DOCTOR_BASELINE',
      `${file} is not an hfi doctor baseline (hfiDoctorBaseline: 1, takenAt)`,
      {
        field: 'baseline',
        details: { file },
      },
    );
  }
  const sidecars: Record<string, BaselineEntry> = {};
  for (const [name, entry] of Object.entries(object.sidecars ?? {}))
    sidecars[name] = checkEntry(entry, name, file, object.takenAt);
  return { hfiDoctorBaseline: 1, takenAt: object.takenAt, sidecars };
}

export function baselineEntry(f: SidecarFacts): BaselineEntry | undefined {
  const m = f.metrics;
  if (m === undefined) return undefined;
  const entry: BaselineEntry = { takenAt: new Date(f.evidence.scrapedAtMs).toISOString() };
  if (m.uptimeSeconds !== undefined) entry.uptimeSeconds = m.uptimeSeconds;
  if (m.aborts !== undefined) entry.aborts = m.aborts;
  if (m.delays !== undefined) entry.delays = m.delays;
  if (m.delayHistogram !== undefined) entry.delayCount = m.delayHistogram.count;
  if (f.evidence.k8s) {
    entry.uid = f.evidence.k8s.uid;
    entry.proxyRestartCount = f.evidence.k8s.proxyRestartCount;
  }
  return entry;
}

/** Writes the baseline atomically; sidecars that could not be read keep their earlier entry. */
export async function writeBaseline(
  file: string,
  previous: Baseline | undefined,
  sidecars: readonly SidecarFacts[],
  takenAt: Date,
): Promise<void> {
  const entries: Record<string, BaselineEntry> = { ...(previous?.sidecars ?? {}) };
  for (const f of sidecars) {
    const entry = baselineEntry(f);
    if (entry !== undefined) entries[f.evidence.name] = entry;
  }
  const baseline: Baseline = { hfiDoctorBaseline: 1, takenAt: takenAt.toISOString(), sidecars: entries };
  const staging = `${file}.${process.pid}.tmp`;
  await writeFile(staging, `${JSON.stringify(baseline, null, 2)}\n`);
  await rename(staging, file);
}
