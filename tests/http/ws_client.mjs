// A test client for atelier's chat WebSocket (GET /v1/chat/ws) over the
// `ws` package: frames are read in order, a turn is read to its 'done'.
import assert from 'node:assert/strict';
import WebSocket from 'ws';

// A WebSocket whose frames are read in order: next() waits for the next one.
export class Socket {
  static async open(server, { headers = {} } = {}) {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/chat/ws`, { headers });
    const sock = new Socket(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    });
    return sock;
  }
  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (d, binary) => {
      assert.equal(binary, false, 'the server sends text frames');
      this.frames.push(JSON.parse(d.toString()));
      this.wake();
    });
    ws.on('close', () => this.wake());
  }
  wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  async next(timeoutMs = 15000) {
    const until = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed');
      if (Date.now() > until) throw new Error('no frame in time');
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
    return this.frames.shift();
  }
  send(frame) {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  // Sends a message and reads its turn: frames up to its 'done' or 'error'.
  async turn(message, { onDelta } = {}) {
    this.send({ type: 'message', ...message });
    const frames = [];
    for (;;) {
      const f = await this.next();
      frames.push(f);
      if (f.type === 'delta' && onDelta) onDelta(f, frames);
      if (f.type === 'done' || f.type === 'error') return summarise(frames);
    }
  }
  close() {
    this.ws.close(1000);
    return this.closed;
  }
}

export function summarise(frames) {
  const last = frames[frames.length - 1];
  return {
    frames,
    last,
    text: frames.filter((f) => f.type === 'delta').map((f) => f.content).join(''),
    sources: frames.find((f) => f.type === 'sources')?.sources,
    turns: new Set(frames.filter((f) => f.turn).map((f) => f.turn)),
  };
}

