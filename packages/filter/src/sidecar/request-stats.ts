// Istio's inbound request counter, so tools (hfi doctor, dashboards) can tell "no traffic reached this sidecar"
// from "traffic arrived but no fault matched". Istio's stats filter names the stat in its `istiocustom` namespace
// (rendered as `istio_requests_total{reporter="destination",...}`); the stored name carries the tags the way
// Istio's tag-encoded names do (`reporter=.=destination;.;...`), which the default inclusion list's `reporter=`
// prefix keeps.
import type { EnvoyStatsStore } from '../stats/store';

export interface RequestStatsIdentity {
  workload: string;
  namespace: string;
}

export function createRequestCounter(stats: EnvoyStatsStore, identity: RequestStatsIdentity): (status: number) => void {
  const ids = new Map<number, number>();
  return (status: number) => {
    let id = ids.get(status);
    if (id === undefined) {
      const tags = {
        reporter: 'destination',
        destination_workload: identity.workload,
        destination_workload_namespace: identity.namespace,
        response_code: String(status),
      };
      const encoded = Object.entries(tags)
        .map(([k, v]) => `${k}=.=${v};.;`)
        .join('');
      id = stats.defineStat('counter', `${encoded}istio_requests_total`, {
        tags,
        tagExtractedName: 'istiocustom.istio_requests_total',
      });
      ids.set(status, id);
    }
    stats.incrementMetric(id, 1n);
  };
}
