// Per-request loggers that cost nothing until something is logged through them. fastify makes a
// child logger per request (request_id), the context hook two more (image_id; project_id and
// user_id), and a pino child serialises its bindings when made: three children were ~5 % of a GET's
// CPU although most requests log only their one line when they end. A LazyLogger keeps the
// bindings and makes the pino child on the first call that logs; the request line itself
// (context.ts) goes through write(), which, while nothing has been made, logs on the root logger
// with the bindings inlined: the same JSON fields, no child made.
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export class LazyLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(private readonly parent: FastifyBaseLogger | LazyLogger, private readonly bindings: Bindings) {}

  /** The pino child, made on first use. */
  private real(): FastifyBaseLogger {
    if (this.made === undefined) {
      const parent = this.parent instanceof LazyLogger ? this.parent.real() : this.parent;
      this.made = parent.child(this.bindings);
    }
    return this.made;
  }

  get level(): string { return this.made?.level ?? this.parent.level; }
  set level(level: string) { this.real().level = level; }

  fatal(...args: unknown[]): void { this.call('fatal', args); }
  error(...args: unknown[]): void { this.call('error', args); }
  warn(...args: unknown[]): void { this.call('warn', args); }
  info(...args: unknown[]): void { this.call('info', args); }
  debug(...args: unknown[]): void { this.call('debug', args); }
  trace(...args: unknown[]): void { this.call('trace', args); }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    if (options !== undefined && Object.keys(options).length > 0) return this.real().child(bindings, options);
    return new LazyLogger(this, bindings) as unknown as FastifyBaseLogger;
  }

  /**
   * Logs `fields` and `message` at `level` with every binding of the chain: on the child if it
   * was made, otherwise on the root logger with the bindings put first in the fields.
   */
  write(level: Level, fields: Record<string, unknown>, message: string): void {
    if (this.made !== undefined) {
      this.made[level](fields, message);
      return;
    }
    const chain: Bindings[] = [this.bindings];
    let at: FastifyBaseLogger | LazyLogger = this.parent;
    while (at instanceof LazyLogger && at.made === undefined) {
      chain.push(at.bindings);
      at = at.parent;
    }
    const root = at instanceof LazyLogger ? at.made! : at;
    const merged: Record<string, unknown> = {};
    for (let i = chain.length - 1; i >= 0; i--) Object.assign(merged, chain[i]);
    root[level](Object.assign(merged, fields), message);
  }

  private call(level: Level, args: unknown[]): void {
    const real = this.real();
    (real[level] as (...a: unknown[]) => void).apply(real, args);
  }
}

/** fastify's childLoggerFactory: a LazyLogger instead of a pino child. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (Object.keys(options).length > 0) return logger.child(bindings, options);
  return new LazyLogger(logger, bindings) as unknown as FastifyBaseLogger;
}

/** Logs one line on a request's logger, lazy or not. */
export function logLine(logger: FastifyBaseLogger, level: Level, fields: Record<string, unknown>, message: string): void {
  if (logger instanceof LazyLogger) logger.write(level, fields, message);
  else logger[level](fields, message);
}
