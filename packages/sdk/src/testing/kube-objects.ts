// Kubernetes API objects as a real API server serialises them (core/v1 JSON): Pods with an Istio sidecar, PodLists,
// and `Status` failures. Used by the fake API server; shapes follow the Kubernetes API reference (Pod, PodList,
// Status) and what `kubectl get --raw` prints from a real cluster.
import { randomUUID } from 'node:crypto';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface FakePodSpec {
  name: string;
  /** Default `default`. */
  namespace?: string;
  /** Default: a random UUID, as the API server assigns. */
  uid?: string;
  labels?: Record<string, string>;
  /** Default `Running`. */
  phase?: PodPhase;
  /** Default: derived from the pod's index (10.244.x.y); null: no IP yet (a Pending pod). */
  podIP?: string | null;
  /** Default `kind-worker`. */
  nodeName?: string;
  /** Restarts of the `istio-proxy` container. Default 0. */
  proxyRestartCount?: number;
  /** Restarts of the application container. Default 0. */
  appRestartCount?: number;
  /** Sets `metadata.deletionTimestamp` (a terminating pod keeps phase Running until its containers stop). */
  terminating?: boolean;
}

export interface ContainerStatusObject {
  name: string;
  ready: boolean;
  restartCount: number;
  started?: boolean;
  image: string;
  imageID: string;
  containerID?: string;
  state: Record<string, Record<string, unknown>>;
  lastState: Record<string, Record<string, unknown>>;
}

/** The subset of core/v1 Pod the fake serves, with the field names of the real API. */
export interface PodObject {
  apiVersion?: 'v1';
  kind?: 'Pod';
  metadata: {
    name: string;
    generateName?: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Record<string, unknown>[];
  };
  spec: {
    nodeName?: string;
    containers: Record<string, unknown>[];
    initContainers?: Record<string, unknown>[];
    restartPolicy: string;
    serviceAccountName: string;
    [key: string]: unknown;
  };
  status: {
    phase: PodPhase;
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    startTime?: string;
    qosClass: string;
    conditions: Record<string, unknown>[];
    containerStatuses?: ContainerStatusObject[];
    initContainerStatuses?: ContainerStatusObject[];
  };
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message: string }[] };
  code: number;
}

/** The reason a real API server gives for each status code it fails with. */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'AlreadyExists',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function statusObject(code: number, message: string, details?: StatusObject['details']): StatusObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'Unknown',
    ...(details ? { details } : {}),
    code,
  };
}

const ISTIO_PROXY_IMAGE = 'docker.io/istio/proxyv2:1.24.2';

function hex(n: number): string {
  return Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
}

function containerStatus(
  name: string,
  image: string,
  restartCount: number,
  running: boolean,
  startedAt: string,
): ContainerStatusObject {
  const state: ContainerStatusObject['state'] = running
    ? { running: { startedAt } }
    : { waiting: { reason: 'ContainerCreating' } };
  const lastState: ContainerStatusObject['lastState'] =
    restartCount > 0
      ? {
          terminated: {
            exitCode: 137,
            reason: 'OOMKilled',
            startedAt,
            finishedAt: startedAt,
            containerID: `containerd://${hex(64)}`,
          },
        }
      : {};
  return {
    name,
    ready: running,
    restartCount,
    started: running,
    image,
    imageID: `${image.split(':')[0]}@sha256:${hex(64)}`,
    ...(running ? { containerID: `containerd://${hex(64)}` } : {}),
    state,
    lastState,
  };
}

/** A pod of a Deployment with Istio's injected sidecar: what `GET /api/v1/namespaces/{ns}/pods/{name}` returns. */
export function podObject(spec: FakePodSpec, index: number, resourceVersion: string): PodObject {
  const namespace = spec.namespace ?? 'default';
  const phase = spec.phase ?? 'Running';
  const running = phase === 'Running';
  const created = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const podIP =
    spec.podIP === null ? undefined : (spec.podIP ?? `10.244.${Math.floor(index / 250) + 1}.${(index % 250) + 2}`);
  const app = spec.labels?.app ?? spec.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '');
  const labels = spec.labels ?? { app };
  const conditions = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(
    (type) => ({
      type,
      status: running || type === 'PodScheduled' ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: created,
    }),
  );
  const pod: PodObject = {
    metadata: {
      name: spec.name,
      ...(spec.name.includes('-') ? { generateName: spec.name.replace(/[a-z0-9]+$/, '') } : {}),
      namespace,
      uid: spec.uid ?? randomUUID(),
      resourceVersion,
      creationTimestamp: created,
      labels: { ...labels, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': app },
      annotations: {
        'istio.io/rev': 'default',
        'kubectl.kubernetes.io/default-container': app,
        'prometheus.io/path': '/stats/prometheus',
        'prometheus.io/port': '15020',
        'prometheus.io/scrape': 'true',
        'sidecar.istio.io/status':
          '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: spec.name.replace(/-[a-z0-9]+$/, ''),
          uid: randomUUID(),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      ...(phase === 'Pending' && podIP === undefined ? {} : { nodeName: spec.nodeName ?? 'kind-worker' }),
      containers: [
        { name: app, image: `docker.io/library/${app}:1.0`, ports: [{ containerPort: 8080, protocol: 'TCP' }] },
        {
          name: 'istio-proxy',
          image: ISTIO_PROXY_IMAGE,
          args: ['proxy', 'sidecar', '--domain', `${namespace}.svc.cluster.local`],
          ports: [
            { name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' },
            { name: 'http-health', containerPort: 15021, protocol: 'TCP' },
          ],
        },
      ],
      initContainers: [{ name: 'istio-init', image: ISTIO_PROXY_IMAGE, args: ['istio-iptables'] }],
      restartPolicy: 'Always',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
    },
    status: {
      phase,
      conditions,
      qosClass: 'Burstable',
      ...(podIP === undefined ? {} : { podIP, podIPs: [{ ip: podIP }], hostIP: '172.18.0.3', startTime: created }),
      initContainerStatuses: [
        {
          ...containerStatus('istio-init', ISTIO_PROXY_IMAGE, 0, false, created),
          ready: true,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: created, finishedAt: created } },
        },
      ],
      containerStatuses: [
        containerStatus(app, `docker.io/library/${app}:1.0`, spec.appRestartCount ?? 0, running, created),
        containerStatus('istio-proxy', ISTIO_PROXY_IMAGE, spec.proxyRestartCount ?? 0, running, created),
      ],
    },
  };
  if (spec.terminating) {
    pod.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    pod.metadata.deletionGracePeriodSeconds = 30;
  }
  return pod;
}

/** A PodList; list items carry no apiVersion/kind, as the API server sends them. */
export function podListObject(items: readonly PodObject[], resourceVersion: string, continueToken?: string): object {
  return {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) },
    items,
  };
}
