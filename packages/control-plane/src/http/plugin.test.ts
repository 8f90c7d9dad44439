import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { startControlPlane } from '../start';
import { pluginPath } from './routes/plugin';

const wasm = pluginPath({});

describe('GET /v1/plugin.wasm', () => {
  beforeAll(() => {
    if (!existsSync(wasm)) throw new Error(`build the filter first (npm run build): ${wasm} is missing`);
  });

  it('serves the bundled plugin.wasm with its sha256, which the WasmPlugin pins', async () => {
    await using cp = await startControlPlane({ listen: '127.0.0.1:0' });
    const res = await fetch(`${cp.url}/v1/plugin.wasm`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/wasm');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(readFileSync(wasm))).toBe(true);
    const sha = createHash('sha256').update(body).digest('hex');
    expect(res.headers.get('x-sha256')).toBe(sha);
    expect(body.subarray(0, 4).toString('latin1')).toBe('\0asm'); // the Wasm magic number

    const again = await fetch(`${cp.url}/v1/plugin.wasm`, { headers: { 'if-none-match': `"${sha}"` } });
    expect(again.status).toBe(304);
  });

  it('answers 503 with HFI_ERR_PLUGIN_LOAD when the plugin is not built', async () => {
    const saved = process.env.HFI_PLUGIN_PATH;
    process.env.HFI_PLUGIN_PATH = '/nonexistent/plugin.wasm';
    try {
      await using cp = await startControlPlane({ listen: '127.0.0.1:0' });
      const res = await fetch(`${cp.url}/v1/plugin.wasm`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ hfi_code: 'HFI_ERR_PLUGIN_LOAD' });
    } finally {
      if (saved === undefined) delete process.env.HFI_PLUGIN_PATH;
      else process.env.HFI_PLUGIN_PATH = saved;
    }
  });
});
