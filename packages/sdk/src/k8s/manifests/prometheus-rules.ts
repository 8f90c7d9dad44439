// Example alerts on the plugin's metrics: as a rule group (a plain Prometheus rule file) and as a PrometheusRule
// for the Prometheus Operator.
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { stringify } from 'yaml';
import { HFI_METRICS } from '../../metrics/extract';
import { commonLabels, PROMETHEUS_RULE } from './names';
import type { ManifestOptions } from './options';
import type { ManifestDocument } from './types';

/** Aborts per second, per pod, above which HfiAbortRateHigh fires; an example value to tune. */
export const ABORT_RATE_ALERT_PER_SECOND = 10;

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertingRule[];
}

const injected = (window: string) =>
  `sum by (namespace, pod) (increase(${HFI_METRICS.aborts}[${window}]))` +
  ` + sum by (namespace, pod) (increase(${HFI_METRICS.delays}[${window}]))`;

export function faultAlertGroups(): RuleGroup[] {
  return [
    {
      name: 'hfi-faults',
      rules: [
        {
          alert: 'HfiFaultsWithoutPolicy',
          // The control plane exports hfi_control_plane_policies; no stored policy means no fault window is open.
          // The short window and `for` let faults already in flight when a window closes die out first.
          expr: `(${injected('2m')}) > 0 unless on() (max(hfi_control_plane_policies) > 0)`,
          for: '5m',
          labels: { severity: 'warning' },
          annotations: {
            summary: '{{ $labels.namespace }}/{{ $labels.pod }} injects faults while no hfi policy is stored',
            description:
              'The hfi filter in this pod keeps aborting or delaying requests although the control plane holds no ' +
              'policy, so no fault window is expected. Either the sidecar has not seen the deletion (`hfi nodes` ' +
              'shows the revision it applied) or the control plane is not scraped (hfi_control_plane_policies is ' +
              'missing).',
          },
        },
        {
          alert: 'HfiAbortRateHigh',
          expr: `sum by (namespace, pod) (rate(${HFI_METRICS.aborts}[5m])) > ${ABORT_RATE_ALERT_PER_SECOND}`,
          for: '10m',
          labels: { severity: 'warning' },
          annotations: {
            summary: '{{ $labels.namespace }}/{{ $labels.pod }} aborts {{ $value | humanize }} requests/s',
            description:
              `hfi has aborted more than ${ABORT_RATE_ALERT_PER_SECOND} requests per second in this pod for 10 ` +
              'minutes; check that the fault window is meant to last this long (`hfi policy list`).',
          },
        },
      ],
    },
  ];
}

/** A Prometheus rule file (`rule_files:` in prometheus.yml; `promtool check rules` reads it). */
export function ruleFileYaml(): string {
  return stringify({ groups: faultAlertGroups() }, { lineWidth: 0 });
}

export function prometheusRuleDocument(options: ManifestOptions): ManifestDocument {
  return {
    object: new PrometheusRule({
      metadata: { name: PROMETHEUS_RULE, namespace: options.namespace, labels: commonLabels('alerts') },
      spec: { groups: faultAlertGroups() },
    }),
    comment:
      'Needs the Prometheus Operator (its PrometheusRule CRD) and a ruleSelector that matches these labels\n' +
      '(kube-prometheus-stack selects release=<its release name> unless ruleSelectorNilUsesHelmValues is false).\n' +
      "Without the operator, spec.groups is a plain Prometheus rule file's `groups:`.",
  };
}
