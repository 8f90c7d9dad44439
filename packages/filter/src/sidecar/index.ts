export type { ListenAddress, ListenOption } from './addresses';
export { istioOutboundCluster, parseListenAddress } from './addresses';
export type { SidecarCliIo, SidecarCliResult } from './cli';
export { parseLabels, parseSidecarArgs, runSidecarCli, SIDECAR_USAGE } from './cli';
export type { StartedSidecar, StartSidecarOptions } from './sidecar';
export { startSidecar } from './sidecar';
