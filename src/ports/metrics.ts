// What the metrics of this process (src/metrics/, decision 0024) read from the outside, and what the
// HTTP layer reports to them. Interfaces only; prom-client stays inside src/metrics/.

/** Connections of the database pool (PostgreSQL, MySQL); SQLite has none. */
export interface PoolStats {
  max: number;
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

/** Tasks waiting for a worker and running, over the whole deployment (the shared database). */
export interface TaskQueueStats {
  pending: number;
  processing: number;
  /** Seconds the oldest pending task has waited; 0 when none waits. */
  oldestPendingAgeSeconds: number;
}

/** The HTTP layer's side: one finished request, labelled by route pattern (never the raw URL). */
export interface RequestMetrics {
  requestDone(labels: { method: string; route: string; status: number }, seconds: number): void;
  /** The exposition served at /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}
