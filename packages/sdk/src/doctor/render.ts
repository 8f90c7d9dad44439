// The report as `hfi doctor` prints it: one line per check (ok / PROBLEM / could not check), its per-sidecar lines
// when there are several, and the seed's fix under each problem.
import type { CheckResult, CheckStatus, DiagnosisReport, SeedProblem } from './types';

const WORD: Record<CheckStatus, string> = { ok: 'ok', problem: 'PROBLEM', unknown: 'could not check' };
/** The troubleshooting guide's problem titles. */
export const SEED_PROBLEM_TITLES: Record<SeedProblem, string> = {
  1: 'metrics not visible in Envoy stats',
  2: 'metrics not incrementing',
  3: 'metrics lost after pod restart',
  4: 'metrics missing in Prometheus',
  5: 'old metric names used',
};
const WIDTH = 'could not check'.length;

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
}

function renderCheck(check: CheckResult, index: number, printedFixes: Map<string, number>): string {
  const lines = [
    `${String(index + 1).padStart(2)}. ${WORD[check.status].padEnd(WIDTH)}  ${check.title}: ${check.detail}`,
  ];
  const pods = check.pods ?? [];
  if (pods.length > 1 && check.status !== 'ok') {
    for (const p of pods) lines.push(`      ${WORD[p.status].padEnd(WIDTH)}  ${p.pod}: ${p.detail}`);
  }
  if (check.status === 'problem' && check.fix) {
    const source = check.seedProblem
      ? `Problem ${check.seedProblem}, ${SEED_PROBLEM_TITLES[check.seedProblem]}`
      : 'fix';
    const earlier = printedFixes.get(check.fix);
    if (earlier !== undefined) lines.push(`      Fix (${source}): as for check ${earlier} above.`);
    else {
      printedFixes.set(check.fix, index + 1);
      lines.push(`      Fix (${source}):`);
      lines.push(indent(check.fix, '        '));
    }
  }
  return lines.join('\n');
}

export function renderReport(report: DiagnosisReport): string {
  const where =
    report.mode === 'local'
      ? `${report.sidecars.length} local sidecar${report.sidecars.length === 1 ? '' : 's'}`
      : `${report.sidecars.length} pod${report.sidecars.length === 1 ? '' : 's'} through the Kubernetes API`;
  const head = [
    `hfi doctor: ${where}${report.controlPlane ? `, control plane ${report.controlPlane}` : ''}` +
      `${report.prometheus ? `, Prometheus ${report.prometheus}` : ''}`,
    ...report.sidecars.map((s) => {
      const who = [
        s.workload && `workload ${s.workload}`,
        s.namespace && `namespace ${s.namespace}`,
        s.pod && `pod ${s.pod}`,
      ]
        .filter(Boolean)
        .join(', ');
      return `  ${s.name}${who ? ` (${who})` : ''}${s.error ? ` — unreadable: ${s.error}` : ''}`;
    }),
    '',
  ];
  const { ok, problems, unknown } = report.summary;
  const verdict =
    report.exitCode === 1
      ? `${problems} problem${problems === 1 ? '' : 's'} found`
      : report.exitCode === 2
        ? 'the environment could not be checked (an endpoint did not answer)'
        : 'no problem found';
  const tail = [
    '',
    `${verdict}: ${ok} ok, ${problems} problem${problems === 1 ? '' : 's'}, ${unknown} could not be checked (exit ${report.exitCode})`,
  ];
  const printedFixes = new Map<string, number>();
  const checks = report.checks.map((c, i) => renderCheck(c, i, printedFixes));
  return `${[...head, ...checks, ...tail].join('\n')}\n`;
}
