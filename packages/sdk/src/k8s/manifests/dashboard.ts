// A Grafana dashboard for the plugin's three metrics, as JSON and as a ConfigMap for Grafana's dashboard sidecar.
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { HFI_METRICS } from '../../metrics/extract';
import { commonLabels, DASHBOARD_CONFIGMAP, DASHBOARD_FILE } from './names';
import type { ManifestOptions } from './options';
import type { ManifestDocument } from './types';

export const DASHBOARD_UID = 'hfi-faults';
/** Grafana substitutes these; anything that checks the queries outside Grafana must substitute them too. */
export const DASHBOARD_VARIABLES = ['$namespace', '$__range'] as const;

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax, substituted by Grafana
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
const NS = 'namespace=~"$namespace"';

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat: string;
}

interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

const DESCRIPTION =
  'Faults injected by the hfi Wasm filter. The metrics carry no labels of their own: namespace and pod come from ' +
  "Prometheus's kubernetes_sd relabelling of the sidecar scrape (Istio's usual kubernetes-pods job on " +
  ":15020/:15090 stats/prometheus). Delay quantiles are estimated from Envoy's histogram buckets (0.5, 1, 5, 10, 25, " +
  '50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, ... ms by default); Envoy counts a delay equal to a ' +
  'bound in the next bucket, so fixed delays read high. Finer buckets: annotate the target pods with ' +
  'sidecar.istio.io/statsHistogramBuckets (see examples/k8s/README.md). Policies stored comes from the control ' +
  "plane's own /metrics.";

function target(refId: string, expr: string, legendFormat: string): DashboardTarget {
  return { refId, expr, legendFormat };
}

function timeseries(
  id: number,
  title: string,
  description: string,
  unit: string,
  gridPos: GridPos,
  targets: DashboardTarget[],
) {
  return {
    id,
    type: 'timeseries',
    title,
    description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: { unit, min: 0, custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never' } },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets.map((t) => ({ ...t, datasource: DATASOURCE, range: true })),
  };
}

function stat(id: number, title: string, description: string, gridPos: GridPos, expr: string) {
  return {
    id,
    type: 'stat',
    title,
    description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults: { unit: 'short', decimals: 0 }, overrides: [] },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'none',
      textMode: 'auto',
    },
    targets: [{ refId: 'A', expr, legendFormat: '', datasource: DATASOURCE, instant: true }],
  };
}

const bucket = `${HFI_METRICS.delayDuration}_bucket{${NS}}`;
const quantile = (q: number) => `histogram_quantile(${q}, sum by (le) (rate(${bucket}[5m])))`;

/** The dashboard model (Grafana schemaVersion 39). */
export function grafanaDashboard() {
  return {
    uid: DASHBOARD_UID,
    title: 'hfi fault injection',
    description: DESCRIPTION,
    tags: ['hfi', 'istio', 'fault-injection'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    annotations: { list: [] },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        {
          name: 'namespace',
          label: 'Namespace',
          type: 'query',
          datasource: DATASOURCE,
          definition: `label_values(${HFI_METRICS.aborts}, namespace)`,
          query: { query: `label_values(${HFI_METRICS.aborts}, namespace)`, refId: 'namespace' },
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: {},
          refresh: 2,
          sort: 1,
          hide: 0,
        },
      ],
    },
    panels: [
      stat(
        1,
        'Aborts in range',
        'Requests the filter aborted during the selected time range.',
        { h: 4, w: 8, x: 0, y: 0 },
        `sum(increase(${HFI_METRICS.aborts}{${NS}}[$__range]))`,
      ),
      stat(
        2,
        'Delays in range',
        'Requests the filter delayed during the selected time range.',
        { h: 4, w: 8, x: 8, y: 0 },
        `sum(increase(${HFI_METRICS.delays}{${NS}}[$__range]))`,
      ),
      stat(
        3,
        'Policies stored',
        'Policies on the control plane now (hfi_control_plane_policies); faults with none stored raise an alert.',
        { h: 4, w: 8, x: 16, y: 0 },
        'max(hfi_control_plane_policies)',
      ),
      timeseries(
        4,
        'Abort rate per workload',
        'Aborted requests per second, per pod.',
        'reqps',
        { h: 8, w: 12, x: 0, y: 4 },
        [target('A', `sum by (namespace, pod) (rate(${HFI_METRICS.aborts}{${NS}}[1m]))`, '{{namespace}}/{{pod}}')],
      ),
      timeseries(
        5,
        'Delay rate per workload',
        'Delayed requests per second, per pod.',
        'reqps',
        { h: 8, w: 12, x: 12, y: 4 },
        [target('A', `sum by (namespace, pod) (rate(${HFI_METRICS.delays}{${NS}}[1m]))`, '{{namespace}}/{{pod}}')],
      ),
      timeseries(
        6,
        'Injected delay',
        'Quantiles estimated from the delay histogram (bucket-interpolated), and the mean from _sum/_count.',
        'ms',
        { h: 8, w: 24, x: 0, y: 12 },
        [
          target('A', quantile(0.5), 'p50'),
          target('B', quantile(0.99), 'p99'),
          target(
            'C',
            `sum(rate(${HFI_METRICS.delayDuration}_sum{${NS}}[5m])) / sum(rate(${HFI_METRICS.delayDuration}_count{${NS}}[5m]))`,
            'mean',
          ),
        ],
      ),
    ],
  };
}

export type GrafanaDashboard = ReturnType<typeof grafanaDashboard>;

/** Every PromQL expression in the dashboard, panel by panel. */
export function dashboardQueries(dashboard: GrafanaDashboard = grafanaDashboard()): { panel: string; expr: string }[] {
  return dashboard.panels.flatMap((panel) =>
    panel.targets.map((t) => ({ panel: `${panel.title} ${t.refId}`, expr: t.expr })),
  );
}

export function dashboardJson(): string {
  return `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
}

export function dashboardConfigMapDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new ConfigMap({
      metadata: {
        name: DASHBOARD_CONFIGMAP,
        namespace: options.namespace,
        labels: { ...commonLabels('dashboard'), grafana_dashboard: '1' },
      },
      data: { [DASHBOARD_FILE]: dashboardJson() },
    }),
    comment:
      "Picked up by Grafana's dashboard sidecar (label grafana_dashboard=1) when it watches this namespace;\n" +
      'otherwise import examples/k8s/grafana-dashboard.json (or `hfi k8s dashboard`) by hand.',
  };
}
