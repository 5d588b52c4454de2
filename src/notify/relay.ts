// The outbox relay (docs/decisions/0022): publishes the outbox in order and deletes only what the
// broker confirmed. It runs in every `serve` and `worker` process; a lease row lets one of them
// publish at a time, so notifications leave in outbox order (per image: the order of its changes)
// with any number of nodes. A relay that dies holding the lease (kill -9) is replaced when the
// lease runs out; the entries it had published but not yet deleted are published again with the
// same message_id. Nothing here is on a request's path: requests only insert outbox rows.
//
// The lease and the publish deadline: a pass starts with at least half the lease left (it is
// renewed at half-life), and a publish that has not been confirmed within a third of the lease is
// given up (publishDeadlineMs), so a relay never still sends a batch when another node may have
// taken the lease over: the deadline is derived from the lease, never set on its own.
import type { NotificationTransport, OutboxStore } from '../ports/events.ts';

/** How long one batch may take to be sent and confirmed (connecting included): a third of the lease. */
export function publishDeadlineMs(leaseSeconds: number): number {
  return Math.floor((leaseSeconds * 1000) / 3);
}

export interface RelayOptions {
  store: OutboxStore;
  transport: NotificationTransport;
  /** This process's name in the lease row. */
  holder: string;
  leaseSeconds: number;
  /** Entries per publish (one confirm wait each). */
  batchSize?: number;
  /** Idle poll interval, ms (a local append nudges the relay sooner). */
  pollMs?: number;
  /**
   * How long a nudge waits before the pass, ms, so that the notifications of many changes leave in
   * one batch: one SELECT, one confirm round trip and one DELETE for all of them instead of one
   * each (each DELETE is a commit, which on SQLite is an fsync on the request thread).
   */
  lingerMs?: number;
  retryIntervalSeconds: number;
  retryMaxSeconds: number;
  maxRows: number;
  /** Told whether the outbox is at its bound (checked every few seconds). */
  onFull: (full: boolean) => void;
  log: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void };
}

export class NotificationRelay {
  private timer?: NodeJS.Timeout;
  /** When the scheduled pass runs (epoch ms). */
  private due = Infinity;
  /** A nudge came during a pass: the next pass comes after the linger, not the poll interval. */
  private nudged = false;
  private running?: Promise<void>;
  private stopped = true;
  private failures = 0;
  private lastCount = 0;
  private wasFull = false;
  /** Until when this process holds the lease (as last written), so that it is renewed at half-life, not every pass. */
  private heldUntil = 0;

  constructor(private readonly options: RelayOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Something was appended: run a pass soon instead of at the next poll. */
  nudge(): void {
    if (this.stopped || this.failures > 0) return;
    if (this.running) {
      this.nudged = true;
      return;
    }
    const linger = this.options.lingerMs ?? 50;
    if (this.due > Date.now() + linger) this.schedule(linger);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.options.store.releaseLease(this.options.holder).catch(() => undefined);
    await this.options.transport.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.due = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.due = Infinity;
      if (this.running) return;
      this.running = this.pass().finally(() => { this.running = undefined; });
    }, ms);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    const { store, log } = this.options;
    const batch = this.options.batchSize ?? 200;
    this.nudged = false;
    let next = this.options.pollMs ?? 200;
    try {
      await this.checkBound();
      if (await this.holdLease()) {
        const entries = await store.oldest(batch);
        if (entries.length > 0) {
          await this.publish(entries);
          await store.remove(entries.map((e) => e.seq));
          if (this.failures > 0) log.info({ after_failures: this.failures }, 'notifications are being published again');
          this.failures = 0;
          if (entries.length === batch) next = 0;
        }
      }
      this.failures = 0;
      if (this.nudged) next = Math.min(next, this.options.lingerMs ?? 50);
    } catch (error) {
      this.failures++;
      this.heldUntil = 0;
      const { retryIntervalSeconds, retryMaxSeconds } = this.options;
      next = Math.min(retryMaxSeconds, retryIntervalSeconds * 2 ** Math.min(this.failures - 1, 16)) * 1000;
      if (this.failures === 1 || this.failures % 10 === 0) {
        log.warn({ err: error, failures: this.failures, retry_in_ms: next }, 'could not publish notifications; they stay in the outbox');
      }
    }
    this.schedule(next);
  }

  /** The transport's publish, given up at the deadline even if the transport ignores the signal. */
  private async publish(entries: Parameters<NotificationTransport['publish']>[0]): Promise<void> {
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error('publishing took longer than a third of the relay lease');
        deadline.abort(error);
        reject(error);
      }, publishDeadlineMs(this.options.leaseSeconds));
    });
    try {
      await Promise.race([this.options.transport.publish(entries, deadline.signal), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async holdLease(): Promise<boolean> {
    const { store, holder, leaseSeconds } = this.options;
    const now = Date.now();
    if (now < this.heldUntil - (leaseSeconds * 1000) / 2) return true;
    const until = now + leaseSeconds * 1000;
    this.heldUntil = await store.lease(holder, new Date(now), new Date(until)) ? until : 0;
    return this.heldUntil > 0;
  }

  /** Counts the outbox every few seconds and reports when it reaches or leaves its bound. */
  private async checkBound(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCount < 2000) return;
    this.lastCount = now;
    const count = await this.options.store.count();
    const full = count >= this.options.maxRows;
    if (full !== this.wasFull) {
      this.wasFull = full;
      this.options.onFull(full);
      if (full) this.options.log.error({ outbox_rows: count, outbox_max_rows: this.options.maxRows }, 'notification outbox is full: new notifications are dropped');
    }
  }
}
