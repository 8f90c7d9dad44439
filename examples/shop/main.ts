// Runs the shop as a script, e.g. behind sidecars started elsewhere on fixed upstream ports:
//   node -r ./examples/chaos/register-ts.js examples/shop/main.ts --frontend-port 3000 --catalog-port 3001 \
//     [--catalog-url http://127.0.0.1:15001] [--catalog-timeout-ms 300] [--no-fallback]
import { parseArgs } from 'node:util';
import { startShop } from './index';

const USAGE =
  'usage: main.ts [--frontend-port N] [--catalog-port N] [--catalog-url URL] [--catalog-timeout-ms N] [--no-fallback]';

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function number(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) usageError(`${flag} must be a number from 0 to ${max}, got ${value}`);
  return n;
}

function parse() {
  return parseArgs({
    options: {
      'frontend-port': { type: 'string' },
      'catalog-port': { type: 'string' },
      'catalog-url': { type: 'string' },
      'catalog-timeout-ms': { type: 'string' },
      'no-fallback': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    usageError((err as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const timeout = number(values['catalog-timeout-ms'], '--catalog-timeout-ms', 600_000);
  const shop = await startShop({
    frontendPort: number(values['frontend-port'], '--frontend-port', 65535) ?? 0,
    catalogPort: number(values['catalog-port'], '--catalog-port', 65535) ?? 0,
    ...(values['catalog-url'] ? { catalogUrl: values['catalog-url'] } : {}),
    ...(timeout ? { catalogTimeoutMs: timeout } : {}),
    fallback: !values['no-fallback'],
  });
  console.log(`frontend ${shop.frontend.url}  (GET /shop, /health)`);
  console.log(`catalog  ${shop.catalog.url}  (GET /products, /health)`);
  console.log(`frontend → catalog at ${shop.catalogUrl}; Ctrl-C stops both`);
  const stop = () => {
    void shop.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
