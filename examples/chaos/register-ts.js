// Lets Node run the examples' TypeScript directly: `node -r ./examples/chaos/register-ts.js examples/….ts`.
// Each .ts file is compiled to CommonJS by @swc/core (the compiler the test suite uses) as it is required;
// `@hfi/*` imports resolve to the built packages, so run `npm run build` first.
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

process.setSourceMapsEnabled(true);

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
    jsc: { target: 'es2022', parser: { syntax: 'typescript', explicitResourceManagement: true } },
  });
  module._compile(code, filename);
};
