// The restricted Pod Security profile, shared by the control plane and etcd.
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';

/** An unprivileged uid/gid present in no image in particular, so runAsNonRoot holds whatever the image declares. */
export const NON_ROOT_ID = 65532;

export function hardenedPod(): {
  securityContext: IPodSecurityContext;
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
} {
  return {
    securityContext: {
      runAsNonRoot: true,
      runAsUser: NON_ROOT_ID,
      runAsGroup: NON_ROOT_ID,
      // Volumes (etcd's claim) become writable by the group.
      fsGroup: NON_ROOT_ID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // Neither process talks to the Kubernetes API.
    automountServiceAccountToken: false,
    // No *_SERVICE_HOST/*_PORT variables: the hfi-* Services would otherwise inject HFI_* names into the environment.
    enableServiceLinks: false,
  };
}

export function hardenedContainer(): ISecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
