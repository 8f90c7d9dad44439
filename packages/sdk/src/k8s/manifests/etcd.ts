// etcd as a StatefulSet with a persistent volume per member (the reference ran one member on emptyDir, so a pod
// restart lost every policy). Members find each other through a headless Service that also publishes pods that
// are not ready yet: a member only becomes ready once a quorum has formed.
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import {
  ETCD,
  ETCD_CLIENT_PORT,
  ETCD_METRICS_PORT,
  ETCD_PEER_PORT,
  ETCD_PEER_SERVICE,
  etcdInitialCluster,
  selectorLabels,
  serviceHost,
  workloadLabels,
} from './names';
import type { ManifestOptions } from './options';
import { hardenedContainer, hardenedPod } from './security';
import type { ManifestDocument } from './types';

const COMPONENT = 'store';
const DATA_VOLUME = 'data';
const DATA_MOUNT = '/var/lib/etcd';
export const ETCD_STORAGE = '1Gi';

export function etcdPeerServiceDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new Service({
      metadata: { name: ETCD_PEER_SERVICE, namespace: options.namespace, labels: workloadLabels(ETCD, COMPONENT) },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: selectorLabels(ETCD),
        ports: [
          { name: 'client', port: ETCD_CLIENT_PORT, targetPort: 'client', protocol: 'TCP' },
          { name: 'peer', port: ETCD_PEER_PORT, targetPort: 'peer', protocol: 'TCP' },
        ],
      },
    }),
    comment: 'Headless: gives every etcd member a stable DNS name, <pod>.hfi-etcd-peer.<namespace>.svc.<domain>.',
  };
}

export function etcdClientServiceDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new Service({
      metadata: { name: ETCD, namespace: options.namespace, labels: workloadLabels(ETCD, COMPONENT) },
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(ETCD),
        ports: [{ name: 'client', port: ETCD_CLIENT_PORT, targetPort: 'client', protocol: 'TCP' }],
      },
    }),
    comment: 'Ready members only, for etcdctl and other clients; the control plane lists every member itself.',
  };
}

function etcdArgs(options: ManifestOptions): string[] {
  // $(POD_NAME) is expanded by the kubelet from the container's environment.
  const self = `$(POD_NAME).${serviceHost(ETCD_PEER_SERVICE, options)}`;
  return [
    '--name=$(POD_NAME)',
    `--data-dir=${DATA_MOUNT}/data`,
    `--listen-client-urls=http://0.0.0.0:${ETCD_CLIENT_PORT}`,
    `--advertise-client-urls=http://${self}:${ETCD_CLIENT_PORT}`,
    `--listen-peer-urls=http://0.0.0.0:${ETCD_PEER_PORT}`,
    `--initial-advertise-peer-urls=http://${self}:${ETCD_PEER_PORT}`,
    `--listen-metrics-urls=http://0.0.0.0:${ETCD_METRICS_PORT}`,
    `--initial-cluster=${etcdInitialCluster(options)}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${ETCD}-${options.namespace}`,
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=1h',
  ];
}

export function etcdStatefulSetDocument(options: ManifestOptions): ManifestDocument {
  const selector = selectorLabels(ETCD);
  return {
    object: new StatefulSet({
      metadata: { name: ETCD, namespace: options.namespace, labels: workloadLabels(ETCD, COMPONENT) },
      spec: {
        serviceName: ETCD_PEER_SERVICE,
        replicas: options.etcdReplicas,
        // All members at once: with OrderedReady, member 0 would wait for a readiness that needs a quorum.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...workloadLabels(ETCD, COMPONENT), 'sidecar.istio.io/inject': 'false' } },
          spec: {
            ...hardenedPod(),
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      topologyKey: 'kubernetes.io/hostname',
                      labelSelector: { matchLabels: selector },
                    },
                  },
                ],
              },
            },
            containers: [
              {
                name: 'etcd',
                image: options.etcdImage,
                imagePullPolicy: 'IfNotPresent',
                command: ['etcd'],
                args: etcdArgs(options),
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                ports: [
                  { name: 'client', containerPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
                  { name: 'peer', containerPort: ETCD_PEER_PORT, protocol: 'TCP' },
                  { name: 'metrics', containerPort: ETCD_METRICS_PORT, protocol: 'TCP' },
                ],
                // /health needs a quorum (ready to serve); the serializable check answers from the local member.
                readinessProbe: {
                  httpGet: { path: '/health', port: 'metrics' },
                  periodSeconds: 5,
                  timeoutSeconds: 3,
                  failureThreshold: 3,
                },
                livenessProbe: {
                  httpGet: { path: '/health?exclude=NOSPACE&serializable=true', port: 'metrics' },
                  initialDelaySeconds: 15,
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                  failureThreshold: 5,
                },
                resources: {
                  requests: { cpu: '100m', memory: '128Mi' },
                  limits: { cpu: '1', memory: '512Mi' },
                },
                securityContext: hardenedContainer(),
                volumeMounts: [{ name: DATA_VOLUME, mountPath: DATA_MOUNT }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: DATA_VOLUME, labels: selector },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: ETCD_STORAGE } } },
          },
        ],
      },
    }),
    comment:
      `${options.etcdReplicas} etcd member(s), bootstrapped statically from --initial-cluster. Changing --etcd-replicas later\n` +
      'needs `etcdctl member add/remove` as well; re-rendering alone does not resize a running cluster.\n' +
      'The claims use the default StorageClass and outlive the StatefulSet (delete them to start empty).',
  };
}

export function etcdBudgetDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new PodDisruptionBudget({
      metadata: { name: ETCD, namespace: options.namespace, labels: workloadLabels(ETCD, COMPONENT) },
      // One voluntary eviction at a time keeps the quorum of 3 or more members.
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(ETCD) } },
    }),
  };
}
