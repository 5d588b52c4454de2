// Runs test/notifications/oslo-listener.py (oslo.messaging's notification listener) and collects
// what it decoded.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface Received {
  priority: string;
  publisher_id: string;
  event_type: string;
  payload: Record<string, unknown> | string;
  message_id: string;
  timestamp: string;
}

/** Debian's python3 (where python3-oslo.messaging is installed), not a pyenv shim. */
const PYTHON = '/usr/bin/python3';

export class OsloListener {
  readonly received: Received[] = [];
  private child?: ChildProcess;
  private err = '';

  constructor(private readonly url: string, private readonly exchange: string, private readonly topic: string) {}

  async start(): Promise<void> {
    const child = spawn(PYTHON, [join(import.meta.dirname, 'oslo-listener.py'), this.url, this.exchange, this.topic]);
    this.child = child;
    let buffer = '';
    let ready!: () => void;
    const listening = new Promise<void>((resolve) => { ready = resolve; });
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === 'LISTENING') ready();
        else if (line.startsWith('{')) this.received.push(JSON.parse(line) as Received);
      }
    });
    child.stderr!.on('data', (d: Buffer) => { this.err += d.toString(); });
    const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`listener exited ${code}: ${this.err}`))));
    await Promise.race([listening, exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`listener did not start: ${this.err}`)), 30_000))]);
  }

  /** Waits until `done(received)` holds, or fails after `ms` with what arrived. */
  async waitFor(done: (received: Received[]) => boolean, ms = 60_000): Promise<Received[]> {
    const until = Date.now() + ms;
    while (!done(this.received)) {
      if (Date.now() > until) throw new Error(`timed out; received ${this.received.length}: ${this.received.map((r) => r.event_type).join(', ')}\n${this.err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.received;
  }

  /** Waits until nothing new arrived for `quietMs`. */
  async settle(quietMs = 1500, ms = 60_000): Promise<Received[]> {
    const until = Date.now() + ms;
    let last = -1;
    let since = Date.now();
    while (Date.now() < until) {
      if (this.received.length !== last) { last = this.received.length; since = Date.now(); }
      if (Date.now() - since >= quietMs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.received;
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child!.on('exit', resolve));
    this.child.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Removes a test run's exchange and its <topic>.<priority> queues from the broker. */
export async function removeBrokerEntities(amqpUrl: string, exchange: string, topic: string): Promise<void> {
  const { connect } = await import('amqplib');
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const priority of ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample']) {
      await channel.deleteQueue(`${topic}.${priority}`);
    }
    await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}
