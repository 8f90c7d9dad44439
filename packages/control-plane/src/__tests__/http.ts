// Test helpers: a plain node:http client (so tests see exactly what goes over the wire) and a started control plane.
import * as http from 'node:http';
import { Writable } from 'node:stream';
import { createLogger } from '../logger';
import { type ControlPlaneOptions, type StartedControlPlane, startControlPlane } from '../start';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON bodies
  json: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (no JSON encoding). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  agent?: http.Agent;
}

/** One HTTP request; a JSON `body` gets `content-type: application/json`. */
export function request(method: string, url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  let payload: string | Buffer | undefined = opts.raw;
  if (opts.body !== undefined) {
    payload = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  if (payload !== undefined && headers['transfer-encoding'] === undefined && headers['content-length'] === undefined) {
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method, headers, signal: opts.signal, agent: opts.agent ?? false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    // The server may answer (413) and close before it has read the whole body; that answer is what counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (payload !== undefined) req.end(payload);
    else req.end();
  });
}

/** A log sink that keeps every JSON line, for assertions on logs. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line));
    done();
  }
}

/** A control plane on an ephemeral loopback port with logs kept in memory. */
export async function startTestControlPlane(
  options: ControlPlaneOptions = {},
): Promise<StartedControlPlane & { logs: LogCapture }> {
  const logs = new LogCapture();
  const cp = await startControlPlane({ logger: createLogger('debug', logs), ...options });
  return Object.assign(cp, { logs });
}

export function examplePolicy(name = 'abort-policy', overrides: { duration_seconds?: number; version?: string } = {}) {
  return {
    metadata: { name, ...(overrides.version !== undefined ? { version: overrides.version } : {}) },
    spec: {
      selector: { service: 'frontend', namespace: 'demo' },
      rules: [
        {
          match: { method: { exact: 'GET' }, path: { exact: '/' } },
          fault: {
            percentage: 100,
            abort: { httpStatus: 503 },
            ...(overrides.duration_seconds !== undefined ? { duration_seconds: overrides.duration_seconds } : {}),
          },
        },
      ],
    },
  };
}
