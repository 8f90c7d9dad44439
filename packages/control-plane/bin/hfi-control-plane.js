#!/usr/bin/env node
// Standalone control plane for container images: `hfi-control-plane --listen 0.0.0.0:8080 --token T --store etcd:...`.

require('../dist/cli.js').controlPlaneMain(process.argv.slice(2));
