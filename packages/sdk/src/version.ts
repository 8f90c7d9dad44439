// The package version, read from package.json (two levels up from both src/ and dist/).
export const SDK_VERSION: string = (require('../package.json') as { version: string }).version;
