// The Prometheus metrics of one process (prom-client; decision 0024): HTTP requests by route
// pattern and status, store traffic and errors (store-metrics.ts), transfers in flight, the task
// queue and the database pool (read at scrape time), and prom-client's process metrics.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { PoolStats, RequestMetrics, TaskQueueStats } from '../ports/metrics.ts';

export interface MetricsSources {
  /** Read at each scrape; a failure leaves the gauges at their last value. */
  taskQueue?: () => Promise<TaskQueueStats>;
  pool?: () => PoolStats | undefined;
}

export type Direction = 'in' | 'out';

export class GlimpseMetrics implements RequestMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route' | 'status'>;
  readonly storeBytes: Counter<'store' | 'direction'>;
  readonly inFlight: Gauge<'store' | 'direction'>;
  readonly storeErrors: Counter<'store' | 'operation' | 'kind'>;
  private sources: MetricsSources = {};

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'glimpse_http_requests_total', registers,
      help: 'HTTP requests answered, by method, route pattern and status code.', labelNames: ['method', 'route', 'status'] });
    this.latency = new Histogram({ name: 'glimpse_http_request_duration_seconds', registers,
      help: 'Time from request to the end of the response, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
    this.storeBytes = new Counter({ name: 'glimpse_store_bytes_total', registers,
      help: 'Image data bytes written to (in) and read from (out) each store.', labelNames: ['store', 'direction'] });
    this.inFlight = new Gauge({ name: 'glimpse_store_transfers_in_flight', registers,
      help: 'Writes (in) and reads (out) of image data in progress, by store.', labelNames: ['store', 'direction'] });
    this.storeErrors = new Counter({ name: 'glimpse_store_errors_total', registers,
      help: 'Failed store operations, by store, operation and error kind.', labelNames: ['store', 'operation', 'kind'] });
    const sources = () => this.sources;
    new Gauge({ name: 'glimpse_task_queue_depth', registers, aggregator: 'max', labelNames: ['status'],
      help: 'Tasks (image import, copy-from) pending or processing in the shared database.',
      async collect() {
        const stats = await sources().taskQueue?.().catch(() => undefined);
        if (!stats) return;
        this.set({ status: 'pending' }, stats.pending);
        this.set({ status: 'processing' }, stats.processing);
      } });
    new Gauge({ name: 'glimpse_task_queue_oldest_pending_age_seconds', registers, aggregator: 'max',
      help: 'Seconds the oldest pending task has waited for a worker (0: none waits).',
      async collect() {
        const stats = await sources().taskQueue?.().catch(() => undefined);
        if (stats) this.set(stats.oldestPendingAgeSeconds);
      } });
    new Gauge({ name: 'glimpse_db_pool_connections', registers, labelNames: ['state'],
      help: 'Database pool connections: max (configured), open, idle, and queries waiting for one (PostgreSQL, MySQL).',
      collect() {
        const pool = sources().pool?.();
        if (!pool) return;
        this.set({ state: 'max' }, pool.max);
        this.set({ state: 'open' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      } });
  }

  /** The database-backed gauges' sources (set once the database is open). */
  readFrom(sources: MetricsSources): void {
    this.sources = sources;
  }

  requestDone(labels: { method: string; route: string; status: number }, seconds: number): void {
    const l = { method: labels.method, route: labels.route, status: String(labels.status) };
    this.requests.inc(l);
    this.latency.observe(l, seconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** In a cluster worker: answer the main process's requests for this worker's metrics ([metrics] bind_port). */
export function reportToPrimary(metrics: GlimpseMetrics): void {
  AggregatorRegistry.setRegistries([metrics.registry]);
  new AggregatorRegistry();
}

/** In the main process of workers > 1: the metrics of every worker, added up (gauges of the shared queue: the max). */
export function clusterMetrics(): () => Promise<{ contentType: string; body: string }> {
  const aggregator = new AggregatorRegistry();
  return async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() });
}
