// Loaded by Jest for `preset: '@hfi/jest-preset'` (Jest looks for jest-preset.js at the package root).
const { existsSync } = require('node:fs');
const path = require('node:path');

const built = path.join(__dirname, 'dist', 'preset.js');
if (!existsSync(built)) {
  throw new Error(`@hfi/jest-preset is not built (${built} is missing): run \`npm run build\` in the hfi repository`);
}
module.exports = require(built).preset;
