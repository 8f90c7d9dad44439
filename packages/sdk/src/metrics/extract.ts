// Pulls the hfi families (and the few server gauges the deltas need) out of a whole `/stats/prometheus` page
// before parsing. An Istio sidecar page has ~20,000 lines; the hfi families have 24. The page is never split:
// indexOf finds the few lines that matter and only those are sliced out (decoded, when the page is still bytes),
// so the parser sees ~30 lines. The needles are shorter than 7 characters on purpose: V8 (and Node's Buffer)
// search those with memchr on the first character, several times faster than the Boyer–Moore–Horspool search
// they use for longer needles, and that is most of the cost on a multi-megabyte page.
// Envoy does not keep a family's series together (see anchors §3.10a), so lines are grouped by family wherever
// they occur, and each family is re-emitted with one `# TYPE` line.
import { HfiError } from '@hfi/core';
import { type PromFamily, type PromHistogramSeries, parsePrometheusText } from './prom-text';

export const HFI_METRICS = {
  aborts: 'wasmcustom_hfi_faults_aborts_total',
  delays: 'wasmcustom_hfi_faults_delays_total',
  delayDuration: 'wasmcustom_hfi_faults_delay_duration_milliseconds',
} as const;

/** Every family whose Prometheus name starts with this is extracted. */
export const HFI_FAMILY_PREFIX = 'wasmcustom_hfi_faults_';

export const SERVER_GAUGES = {
  uptime: 'envoy_server_uptime',
  live: 'envoy_server_live',
  hotRestartEpoch: 'envoy_server_hot_restart_epoch',
} as const;

type FamilyType = 'counter' | 'gauge' | 'histogram' | 'untyped';

const KNOWN_TYPES: ReadonlyMap<string, FamilyType> = new Map<string, FamilyType>([
  [HFI_METRICS.aborts, 'counter'],
  [HFI_METRICS.delays, 'counter'],
  [HFI_METRICS.delayDuration, 'histogram'],
  [SERVER_GAUGES.uptime, 'gauge'],
  [SERVER_GAUGES.live, 'gauge'],
  [SERVER_GAUGES.hotRestartEpoch, 'gauge'],
]);
const SERVER_GAUGE_NAMES: ReadonlySet<string> = new Set(Object.values(SERVER_GAUGES));
const SERVER_PREFIX = 'envoy_server_';
const SERIES_SEPARATOR = 'hfi_internal_series_separator';

/** A stats page as a string or as the bytes received (no need to decode megabytes to read a few lines). */
export type StatsPage = string | Uint8Array;

interface PageReader {
  indexOf(needle: string, from: number): number;
  lastIndexOf(needle: string, from: number): number;
  startsWith(prefix: string, at: number): boolean;
  slice(from: number, to: number): string;
  readonly length: number;
}

function reader(page: StatsPage): PageReader {
  if (typeof page === 'string') {
    return {
      length: page.length,
      indexOf: (needle, from) => page.indexOf(needle, from),
      lastIndexOf: (needle, from) => page.lastIndexOf(needle, from),
      startsWith: (prefix, at) => page.startsWith(prefix, at),
      slice: (from, to) => page.slice(from, to),
    };
  }
  const buf = Buffer.isBuffer(page) ? page : Buffer.from(page.buffer, page.byteOffset, page.byteLength);
  return {
    length: buf.length,
    // The needles are ASCII: the same bytes in latin1 and UTF-8.
    indexOf: (needle, from) => buf.indexOf(needle, from, 'latin1'),
    lastIndexOf: (needle, from) => buf.lastIndexOf(needle, from, 'latin1'),
    startsWith: (prefix, at) => buf.toString('latin1', at, at + prefix.length) === prefix,
    slice: (from, to) => buf.toString('utf8', from, to),
  };
}

/** The line [start, end of line), without a trailing CR. */
function lineFrom(page: PageReader, start: number): { line: string; end: number } {
  let end = page.indexOf('\n', start);
  if (end < 0) end = page.length;
  const line = page.slice(start, end);
  return { line: line.endsWith('\r') ? line.slice(0, -1) : line, end };
}

/** Every line that starts with `prefix`, found through the short needle `\n` + its first five characters. */
function linesStartingWith(page: PageReader, prefix: string, onLine: (line: string, start: number) => void): void {
  const needle = `\n${prefix.slice(0, 5)}`;
  let pos = 0;
  if (page.startsWith(prefix, 0)) pos = visit(0);
  for (;;) {
    const i = page.indexOf(needle, pos);
    if (i < 0) return;
    pos = page.startsWith(prefix, i + 1) ? visit(i + 1) : i + 1;
  }
  function visit(start: number): number {
    const { line, end } = lineFrom(page, start);
    onLine(line, start);
    return end;
  }
}

/** The line before the one starting at `start`, if it is a `# TYPE` line. */
function typeLineBefore(page: PageReader, start: number): string | undefined {
  if (start < 2) return undefined;
  const prevStart = page.lastIndexOf('\n', start - 2) + 1;
  if (!page.startsWith('# TYPE ', prevStart)) return undefined;
  return lineFrom(page, prevStart).line;
}

/**
 * Untagged series, which Envoy always prints as `name{} value`, found through the 3-character needle `{} `; the
 * server gauges are among them. Returns whether any line was accepted.
 */
function untaggedLines(page: PageReader, accept: (name: string) => boolean, onLine: (line: string) => void): boolean {
  let found = false;
  let pos = 0;
  for (;;) {
    const i = page.indexOf('{} ', pos);
    if (i < 0) return found;
    const start = page.lastIndexOf('\n', i) + 1;
    if (accept(page.slice(start, i))) {
      const { line, end } = lineFrom(page, start);
      onLine(line);
      found = true;
      pos = end;
    } else pos = i + 3;
  }
}

function metricName(line: string): string {
  let i = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === 123 /* { */ || c === 32 || c === 9) break;
    i++;
  }
  return line.slice(0, i);
}

/** Index of the `}` closing the label set that opens at `open`, skipping quoted values; -1 if unterminated. */
function closingBrace(line: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (quoted) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 125 /* } */) return i;
  }
  return -1;
}

const LABEL_PAIR = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

function unescapeLabelValue(raw: string): string {
  return raw.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

interface SplitLine {
  /** Label pairs other than `le`, as written (the series identity). */
  seriesKey: string;
  /** Raw `le` value, if any. */
  le: string | undefined;
  /** Everything after the label set (or the name): ` <value> [timestamp]`. */
  rest: string;
}

function splitLine(line: string, name: string): SplitLine | undefined {
  if (line.charCodeAt(name.length) !== 123) return { seriesKey: '', le: undefined, rest: line.slice(name.length) };
  const close = closingBrace(line, name.length);
  if (close < 0) return undefined;
  const labelText = line.slice(name.length + 1, close);
  let le: string | undefined;
  const others: string[] = [];
  for (const m of labelText.matchAll(LABEL_PAIR)) {
    if (m[1] === 'le') le = m[2];
    else others.push(m[0]);
  }
  return { seriesKey: others.join(','), le, rest: line.slice(close + 1) };
}

interface HistogramGroup {
  kind: 'histogram';
  name: string;
  /** series key → rewritten lines whose only label is `le`. */
  series: Map<string, string[]>;
}
interface PlainGroup {
  kind: 'plain';
  name: string;
  type: Exclude<FamilyType, 'histogram'>;
  lines: string[];
}

/** The hfi and server-gauge lines of a page, grouped by family; comments and other families are left out. */
function groupRelevantLines(text: StatsPage): Map<string, HistogramGroup | PlainGroup> {
  const page = reader(text);
  const types = new Map(KNOWN_TYPES);
  const sampleLines: string[] = [];
  linesStartingWith(page, HFI_FAMILY_PREFIX, (line, start) => {
    sampleLines.push(line);
    // A family's `# TYPE` line sits right before its first series; the page's word on the type wins.
    const typeLine = typeLineBefore(page, start);
    if (typeLine === undefined) return;
    const [name, type] = typeLine.slice('# TYPE '.length).split(/\s+/, 2);
    if (
      name?.startsWith(HFI_FAMILY_PREFIX) &&
      (type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'untyped')
    ) {
      types.set(name, type);
    }
  });

  const groups = new Map<string, HistogramGroup | PlainGroup>();
  const add = (line: string): void => {
    const name = metricName(line);
    let family = name;
    let type = types.get(name);
    if (type === undefined) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      if (base !== name && types.get(base) === 'histogram') {
        family = base;
        type = 'histogram';
      }
    }
    type ??= 'untyped';
    if (type === 'histogram') {
      const split = splitLine(line, name);
      if (split === undefined) return;
      let group = groups.get(family);
      if (group === undefined || group.kind !== 'histogram') {
        group = { kind: 'histogram', name: family, series: new Map() };
        groups.set(family, group);
      }
      let lines = group.series.get(split.seriesKey);
      if (lines === undefined) {
        lines = [];
        group.series.set(split.seriesKey, lines);
      }
      // Canonical form for the parser: the series' other labels are carried by the key, not the line.
      lines.push(split.le === undefined ? `${name}{}${split.rest}` : `${name}{le="${split.le}"}${split.rest}`);
      return;
    }
    let group = groups.get(family);
    if (group === undefined || group.kind !== 'plain') {
      group = { kind: 'plain', name: family, type, lines: [] };
      groups.set(family, group);
    }
    group.lines.push(line);
  };

  for (const line of sampleLines) add(line);
  const serverLines: string[] = [];
  const found = untaggedLines(
    page,
    (name) => SERVER_GAUGE_NAMES.has(name),
    (line) => serverLines.push(line),
  );
  // Not in Envoy's `name{} value` form (another renderer, or a proxy in between): the slower full search.
  if (!found) {
    linesStartingWith(page, SERVER_PREFIX, (line) => {
      if (SERVER_GAUGE_NAMES.has(metricName(line))) serverLines.push(line);
    });
  }
  for (const line of serverLines) add(line);
  return groups;
}

/**
 * The cheap pre-filter: the hfi families and server gauges of `text` as canonical Prometheus text (one `# TYPE`
 * line per family, and per series for histograms), ready for parse-prometheus-text-format.
 */
export function prefilterHfiText(text: StatsPage): string {
  let out = '';
  for (const group of groupRelevantLines(text).values()) {
    if (group.kind === 'plain') {
      out += `# TYPE ${group.name} ${group.type}\n${group.lines.join('\n')}\n`;
    } else {
      let first = true;
      for (const lines of group.series.values()) {
        if (!first) out += `# TYPE ${SERIES_SEPARATOR} untyped\n`;
        out += `# TYPE ${group.name} histogram\n${lines.join('\n')}\n`;
        first = false;
      }
    }
  }
  return out;
}

/**
 * The `wasmcustom_hfi_faults_*` families and the `envoy_server_uptime`/`_live`/`_hot_restart_epoch` gauges of a
 * whole stats page, parsed and typed. Families absent from the page are absent from the result.
 */
export function extractHfiFamilies(text: StatsPage): PromFamily[] {
  const groups = groupRelevantLines(text);
  let canonical = '';
  const seriesLabels = new Map<string, Record<string, string>[]>();
  for (const group of groups.values()) {
    if (group.kind === 'plain') {
      canonical += `# TYPE ${group.name} ${group.type}\n${group.lines.join('\n')}\n`;
      continue;
    }
    const labels: Record<string, string>[] = [];
    for (const [key, lines] of group.series) {
      // The library reads a repeated `# TYPE` of the current family as more of it; another family in between
      // makes it close the series.
      if (labels.length > 0) canonical += `# TYPE ${SERIES_SEPARATOR} untyped\n`;
      canonical += `# TYPE ${group.name} histogram\n${lines.join('\n')}\n`;
      const record: Record<string, string> = {};
      for (const m of key.matchAll(LABEL_PAIR)) record[m[1] as string] = unescapeLabelValue(m[2] as string);
      labels.push(record);
    }
    seriesLabels.set(group.name, labels);
  }

  // One parsed family per block; merge a histogram's per-series blocks back into one family.
  const merged = new Map<string, PromFamily>();
  let parsed: PromFamily[];
  try {
    parsed = parsePrometheusText(canonical);
  } catch (err) {
    throw new HfiError('HFI_ERR_METRICS_PARSE', `hfi metric lines could not be parsed: ${(err as Error).message}`, {
      cause: err,
      details: { lines: canonical.split('\n').slice(0, 40) },
    });
  }
  for (const fam of parsed) {
    if (fam.name === SERIES_SEPARATOR) continue;
    const seen = merged.get(fam.name);
    if (fam.type === 'histogram') {
      const labels = seriesLabels.get(fam.name) ?? [];
      const target = seen?.type === 'histogram' ? seen : { name: fam.name, type: 'histogram' as const, series: [] };
      for (const s of fam.series) {
        const series: PromHistogramSeries = { ...s, labels: labels[target.series.length] ?? {} };
        target.series.push(series);
      }
      merged.set(fam.name, target);
    } else if (seen !== undefined && seen.type !== 'histogram') {
      seen.samples.push(...fam.samples);
    } else {
      merged.set(fam.name, fam);
    }
  }
  return [...merged.values()];
}

/** Metric names on the page that look like hfi's or another Wasm plugin's; used to explain absent families. */
export function findRelatedMetricNames(page: StatsPage, limit = 20): string[] {
  const text =
    typeof page === 'string' ? page : Buffer.from(page.buffer, page.byteOffset, page.byteLength).toString('utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/^[A-Za-z_:][A-Za-z0-9_:]*(?:hfi|wasm)[A-Za-z0-9_:]*/gm)) {
    // A copy, not a slice: a slice would keep the whole page alive for as long as the snapshot is held.
    names.add(Buffer.from(m[0], 'utf8').toString('utf8'));
    if (names.size >= limit) break;
  }
  return [...names];
}
