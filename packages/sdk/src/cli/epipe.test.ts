import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const bin = join(__dirname, '..', '..', 'bin', 'hfi.js');

// `hfi ... | head` closes the pipe early; the command must end quietly rather than die with an EPIPE stack trace.
it('ends quietly when the reader of its output goes away (hfi --help | head -1)', async () => {
  const child = spawn(process.execPath, [bin, 'k8s', 'manifests', '--token', 'a-token-long-enough-1234'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.destroy(); // the reader is gone before the first write

  const [code] = await once(child, 'exit');
  expect(stderr).not.toContain('EPIPE');
  expect(code).toBe(0);
});
