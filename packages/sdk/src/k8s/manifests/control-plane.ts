// The control plane in its own namespace: Namespace, token Secret, Deployment, Service and PodDisruptionBudget.
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import {
  CONTROL_PLANE,
  CONTROL_PLANE_PORT,
  commonLabels,
  etcdStoreSpec,
  selectorLabels,
  TOKEN_SECRET,
  TOKEN_SECRET_KEY,
  workloadLabels,
} from './names';
import type { ManifestOptions } from './options';
import { hardenedContainer, hardenedPod } from './security';
import type { ManifestDocument } from './types';

const COMPONENT = 'control-plane';

export function namespaceDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new Namespace({
      metadata: { name: options.namespace, labels: { name: options.namespace, ...commonLabels(COMPONENT) } },
    }),
    comment:
      'No istio-injection label on purpose: istio-agent in each target pod downloads the plugin from the control plane\n' +
      'over plain HTTP, and the control plane needs no sidecar of its own.',
  };
}

export function tokenSecretDocument(options: ManifestOptions, token: string): ManifestDocument {
  return {
    object: new Secret({
      metadata: { name: TOKEN_SECRET, namespace: options.namespace, labels: commonLabels(COMPONENT) },
      type: 'Opaque',
      stringData: { [TOKEN_SECRET_KEY]: token },
    }),
    comment:
      'Bearer token for writes to the control plane (hfi policy apply/delete send it as --token or HFI_TOKEN).\n' +
      'Read it back with:\n' +
      `  kubectl get secret -n ${options.namespace} ${TOKEN_SECRET} -o jsonpath='{.data.${TOKEN_SECRET_KEY}}' | base64 -d`,
  };
}

export function controlPlaneDeploymentDocument(options: ManifestOptions): ManifestDocument {
  const selector = selectorLabels(CONTROL_PLANE);
  return {
    object: new Deployment({
      metadata: { name: CONTROL_PLANE, namespace: options.namespace, labels: workloadLabels(CONTROL_PLANE, COMPONENT) },
      spec: {
        replicas: options.replicas,
        selector: { matchLabels: selector },
        // Surge first: a replica leaves only once its replacement is ready, so sidecars always have one to poll.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels: { ...workloadLabels(CONTROL_PLANE, COMPONENT), 'sidecar.istio.io/inject': 'false' },
            annotations: {
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(CONTROL_PLANE_PORT),
              'prometheus.io/path': '/metrics',
            },
          },
          spec: {
            ...hardenedPod(),
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: selector },
              },
            ],
            containers: [
              {
                name: CONTROL_PLANE,
                image: options.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['hfi'],
                args: ['control-plane', '--listen', `0.0.0.0:${CONTROL_PLANE_PORT}`, '--store', etcdStoreSpec(options)],
                env: [
                  { name: 'HFI_TOKEN', valueFrom: { secretKeyRef: { name: TOKEN_SECRET, key: TOKEN_SECRET_KEY } } },
                  { name: 'LOG_LEVEL', value: 'info' },
                ],
                ports: [{ name: 'http', containerPort: CONTROL_PLANE_PORT, protocol: 'TCP' }],
                readinessProbe: {
                  httpGet: { path: '/v1/ready', port: 'http' },
                  initialDelaySeconds: 2,
                  periodSeconds: 5,
                  timeoutSeconds: 3,
                  failureThreshold: 3,
                },
                livenessProbe: {
                  httpGet: { path: '/v1/health', port: 'http' },
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  timeoutSeconds: 3,
                  failureThreshold: 3,
                },
                resources: {
                  requests: { cpu: '50m', memory: '128Mi' },
                  limits: { cpu: '500m', memory: '256Mi' },
                },
                securityContext: hardenedContainer(),
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }],
          },
        },
      },
    }),
    comment:
      `--image is a placeholder (${options.image} unless overridden): any image with the hfi command on its PATH\n` +
      'works; the plugin.wasm it serves at /v1/plugin.wasm must be the one whose sha256 the WasmPlugin names.',
  };
}

export function controlPlaneServiceDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new Service({
      metadata: { name: CONTROL_PLANE, namespace: options.namespace, labels: workloadLabels(CONTROL_PLANE, COMPONENT) },
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(CONTROL_PLANE),
        // The name `http` tells Istio the protocol; sidecars reach it as outbound|8080||<this service's FQDN>.
        ports: [{ name: 'http', port: CONTROL_PLANE_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
    }),
  };
}

export function controlPlaneBudgetDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new PodDisruptionBudget({
      metadata: { name: CONTROL_PLANE, namespace: options.namespace, labels: workloadLabels(CONTROL_PLANE, COMPONENT) },
      spec: { minAvailable: 1, selector: { matchLabels: selectorLabels(CONTROL_PLANE) } },
    }),
  };
}
