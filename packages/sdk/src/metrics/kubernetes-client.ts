// Loads @kubernetes/client-node, which ships (1.x) only as ES modules, from this CommonJS package.
//
// Plain Node: tsc (`module: nodenext`) keeps `import()` as a real dynamic import in CommonJS output, so Node loads
// the ES module natively. Jest, where most hfi users run this, evaluates CommonJS in a vm sandbox: its require()
// cannot load ES modules and its sandbox refuses import() unless Node runs with --experimental-vm-modules. There the
// import is compiled in Node's main context with Node's own loader (vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER),
// which Node 20.19+ provides; Node prints an ExperimentalWarning for it once.
import { pathToFileURL } from 'node:url';
import { Script, constants as vmConstants } from 'node:vm';
import { HfiError } from '@hfi/core';
import type * as K8s from '@kubernetes/client-node';

export type KubernetesClientModule = typeof K8s;

const PACKAGE = '@kubernetes/client-node';

let loading: Promise<KubernetesClientModule> | undefined;

/** The package's module namespace, loaded once per process (a failed load is retried on the next call). */
export function loadKubernetesClient(): Promise<KubernetesClientModule> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function load(): Promise<KubernetesClientModule> {
  let url: string;
  try {
    url = pathToFileURL(require.resolve(PACKAGE)).href;
  } catch (err) {
    throw new HfiError('HFI_ERR_CONFIG', `${PACKAGE} is not installed (npm install ${PACKAGE}@1)`, { cause: err });
  }
  try {
    return (await import(url)) as KubernetesClientModule;
  } catch (nativeErr) {
    try {
      return await importInMainContext(url);
    } catch (err) {
      throw new HfiError('HFI_ERR_CONFIG', `${PACKAGE} could not be loaded: ${messageOf(err)}`, {
        cause: err,
        details: { url, nativeImportError: messageOf(nativeErr) },
      });
    }
  }
}

function importInMainContext(url: string): Promise<KubernetesClientModule> {
  const script = new Script('(url) => import(url)', {
    filename: __filename,
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const importer = script.runInThisContext() as (u: string) => Promise<KubernetesClientModule>;
  return importer(url);
}

function messageOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
}
