// `npm run demo`: the end-to-end demo lands with the Jest preset and examples (see docs/architecture.md).
console.log('hfi demo: not built yet. The control plane is available now: npx hfi control-plane --help');
