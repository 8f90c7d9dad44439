#!/usr/bin/env bash
# Regenerates the rendered files beside this script from the built hfi (run `npm run build` first).
# packages/sdk/src/k8s/manifests/examples.test.ts fails when they differ from a fresh render.
set -euo pipefail
cd "$(dirname "$0")/../.."
hfi() { node packages/sdk/bin/hfi.js "$@"; }
hfi k8s manifests --token example-token-change-me >examples/k8s/mesh.yaml
hfi k8s dashboard >examples/k8s/grafana-dashboard.json
hfi k8s prometheus-rules >examples/k8s/prometheus-rules.yaml
# Same content, in the repository's JSON style.
npx biome format --write examples/k8s/grafana-dashboard.json >/dev/null 2>&1 ||
  { echo 'biome format failed on examples/k8s/grafana-dashboard.json' >&2; exit 1; }
echo "examples/k8s: mesh.yaml, grafana-dashboard.json and prometheus-rules.yaml rendered"
