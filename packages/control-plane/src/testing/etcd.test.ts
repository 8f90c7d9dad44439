import { access } from 'node:fs/promises';
import * as http from 'node:http';
import { isHfiError } from '@hfi/core';
import { Etcd3 } from 'etcd3';
import { dist, runScriptToExit } from '../__tests__/dist-child';
import { type StartedEtcd, startEtcd } from './etcd';

jest.setTimeout(60_000);

function health(endpoint: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/health`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('startEtcd', () => {
  it('runs a healthy etcd that keeps its data across kill and restart, and removes it on stop', async () => {
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      expect(etcd.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(etcd.running).toBe(true);
      expect(JSON.parse(await health(etcd.endpoint))).toEqual({ health: 'true' });
      await client.put('hfi-test/key').value('kept');

      await etcd.kill();
      expect(etcd.running).toBe(false);
      expect(await health(etcd.endpoint)).toBe('ECONNREFUSED');

      await etcd.restart();
      expect(etcd.running).toBe(true);
      expect(await client.get('hfi-test/key').string()).toBe('kept');
    } finally {
      client.close();
      await etcd.stop();
    }
    expect(etcd.running).toBe(false);
    expect(await exists(etcd.dataDir)).toBe(false);
    expect(await health(etcd.endpoint)).toBe('ECONNREFUSED');
    await etcd.stop(); // idempotent
    const err = await etcd.restart().catch((e: unknown) => e);
    expect(isHfiError(err, 'HFI_ERR_CONFIG')).toBe(true);
  });

  it('stops etcd when disposed with await using', async () => {
    let started: StartedEtcd | undefined;
    {
      await using etcd = await startEtcd();
      started = etcd;
      expect(etcd.running).toBe(true);
    }
    expect(started.running).toBe(false);
    expect(await exists(started.dataDir)).toBe(false);
  });

  it('says how to install etcd when the binary is missing', async () => {
    const err = await startEtcd({ binary: 'hfi-no-such-etcd-binary' }).catch((e: unknown) => e);
    expect(isHfiError(err, 'HFI_ERR_CONFIG')).toBe(true);
    expect((err as Error).message).toMatch(/install Debian's etcd-server/);
  });

  it('leaves nothing running after a start that failed, so that its process exits at once', async () => {
    // A process of its own (the built dist), as only a process's exit shows what still holds it. The start used to
    // go on polling /health until its timeout (30 s) after etcd could not run.
    const { message, code, msToExit } = await runScriptToExit(
      `const { startEtcd } = require(${dist('testing/etcd.js')});
      startEtcd({ binary: 'hfi-no-such-etcd-binary' }).catch((err) =>
        process.send(err.code, () => process.disconnect()),
      );`,
    );
    expect(message).toBe('HFI_ERR_CONFIG');
    expect(code).toBe(0);
    expect(msToExit).toBeLessThan(1000);
  });
});
