// A load generator for bursts: N keep-alive HTTP/1.1 connections over plain sockets, each sending one prepared GET
// per burst and timing its answer. node:http's client costs about 350 µs of CPU per request on this 2-core machine,
// so a burst of 200 through it took a whole core away from the sidecar under test; this one costs about a fifth of
// that (a write and a read per request, as wrk does). It reads answers that carry a content-length, which is how the
// local sidecar and the benches' upstreams answer; anything else fails the burst rather than being mismeasured.
const net = require('node:net');

class BurstConnection {
  constructor(host, port) {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.pending = undefined;
    this.buffered = undefined;
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the connection closed')));
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  /** Sends `request` (bytes) and resolves with { status, head, ms } once the whole answer is in. */
  send(request) {
    if (this.pending) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, started: performance.now() };
      this.socket.write(request);
    });
  }

  onData(chunk) {
    const data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    const headEnd = data.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      this.buffered = data;
      return;
    }
    const head = data.latin1Slice(0, headEnd);
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (!length) {
      this.fail(new Error(`an answer without content-length: ${head.split('\r\n')[0]}`));
      return;
    }
    const end = headEnd + 4 + Number(length[1]);
    if (data.length < end) {
      this.buffered = data;
      return;
    }
    if (data.length > end) {
      this.fail(new Error('more bytes than one answer (an unasked answer or pipelining)'));
      return;
    }
    this.buffered = undefined;
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve({ status: Number(head.slice(9, 12)), head, ms: performance.now() - pending.started });
  }

  fail(error) {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }

  close() {
    this.socket.destroy();
  }
}

/** One keep-alive connection to `url`'s host; `get(path)` resolves with { status, head, ms }. */
async function openConnection(url) {
  const { hostname, port, host } = new URL(url);
  const connection = new BurstConnection(hostname, Number(port));
  await connection.ready;
  return {
    get: (path) => connection.send(Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`, 'latin1')),
    close: () => connection.close(),
  };
}

/** `count` connections to `url`'s host; `burst(path)` sends one GET per connection at once. */
async function openBurstClient(url, count) {
  const { hostname, port, host } = new URL(url);
  const connections = Array.from({ length: count }, () => new BurstConnection(hostname, Number(port)));
  await Promise.all(connections.map((c) => c.ready));
  return {
    /** Latencies (ms) of one GET `path` per connection, sent together; rejects on any answer other than 200. */
    async burst(path) {
      const request = Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`, 'latin1');
      const answers = await Promise.all(connections.map((c) => c.send(request)));
      const failed = answers.find((a) => a.status !== 200);
      if (failed) throw new Error(`GET ${path}: ${failed.status}`);
      return answers.map((a) => a.ms);
    },
    close() {
      for (const c of connections) c.close();
    },
  };
}

module.exports = { openBurstClient, openConnection };
