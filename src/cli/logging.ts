// The process's logger, from oslo.log's options: `debug` (level), `use_json` (JSON lines, or text
// lines; unset: text on a terminal, JSON otherwise), `log_file` / `log_dir` (a file, opened again
// on SIGHUP for logrotate), `use_syslog` (the local syslog daemon, through util-linux `logger`, which
// writes to /dev/log: Node.js cannot open a unix datagram socket itself). Text is rendered by
// lib/log-text.ts, so no development tool (pino-pretty) is needed to read the log.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { GlimpseConfig } from '../config/types.ts';
import { formatJsonLine } from '../lib/log-text.ts';

export interface LoggingOptions {
  /** Name of the program (`glimpse-api`, `glimpse-worker`…): the syslog tag and the file name under log_dir. */
  name?: string;
  /** Where the log goes when it is neither a file nor syslog (tests); default: standard output. */
  stdout?: { write(text: string): unknown; isTTY?: boolean };
  /** The syslog socket (default: logger's own choice, /dev/log); for tests. */
  syslogSocket?: string;
}

export interface Logging {
  logger: Logger;
  /** Where the log goes, for the start-up line: `stdout`, a file path or `syslog`. */
  target: string;
  /** Opens log_file again (after logrotate moved it); a no-op for other targets. */
  reopen(): void;
}

const SYSLOG_FACILITIES: Record<string, number> = {
  LOG_USER: 1, LOG_DAEMON: 3, LOG_LOCAL0: 16, LOG_LOCAL1: 17, LOG_LOCAL2: 18, LOG_LOCAL3: 19,
  LOG_LOCAL4: 20, LOG_LOCAL5: 21, LOG_LOCAL6: 22, LOG_LOCAL7: 23,
};

/** pino level → syslog severity. */
function severity(level: number): number {
  return level >= 60 ? 2 : level >= 50 ? 3 : level >= 40 ? 4 : level >= 30 ? 6 : 7;
}

function syslogStream(name: string, facility: string, json: boolean, fallback: DestinationStream,
  socket: string | undefined): DestinationStream {
  const args = ['--prio-prefix', '-t', name, `--id=${process.pid}`, ...(socket === undefined ? [] : ['-u', socket])];
  const child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'inherit'] });
  let broken = false;
  child.on('error', (error) => {
    broken = true;
    fallback.write(`glimpse: use_syslog: cannot run util-linux logger (${error.message}); logging to standard output\n`);
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  const base = (SYSLOG_FACILITIES[facility] ?? 1) * 8;
  return {
    write(line: string) {
      if (broken) return fallback.write(json ? line : formatJsonLine(line));
      const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
      const text = json ? line.trimEnd() : formatJsonLine(line, { withHead: false }).trimEnd();
      // One syslog message per line: a stack trace's lines are joined.
      child.stdin!.write(`<${base + severity(level)}>${text.replace(/\n\s*/g, ' | ')}\n`);
    },
  };
}

/** Every batched destination, flushed when the process exits. */
const batches = new Set<() => void>();
let exitHook = false;

/**
 * The lines logged during one turn of the event loop, written together (one write system call, not
 * one per line: under load several requests end per turn, and the write was ~5 % of a GET's CPU)
 * before the loop waits for I/O again (setImmediate) and when the process exits. A line is thus
 * still on its way to the kernel within the turn that logged it; only a SIGKILL or an abort in that
 * same turn could lose it.
 */
function batched(target: { write(text: string): unknown }): { write(line: string): void; flush(): void } {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    target.write(text);
  };
  batches.add(flush);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => { for (const f of batches) f(); });
  }
  return {
    write(line: string) {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export function createLogging(config: GlimpseConfig, options: LoggingOptions = {}): Logging {
  const name = options.name ?? 'glimpse-api';
  const { log } = config;
  const file = log.file ?? (log.dir !== undefined ? join(log.dir, `${name}.log`) : undefined);
  const stdout = options.stdout ?? process.stdout;
  const sonic = file !== undefined ? pino.destination({ dest: file, sync: true, mkdir: true, append: true })
    : options.stdout === undefined ? pino.destination({ dest: 1, sync: true }) : undefined;
  const batch = sonic === undefined ? undefined : batched(sonic);
  const raw: DestinationStream = batch ?? { write: (line: string) => { stdout.write(line); } };
  const json = log.format === 'json' || (log.format === 'auto' && (file !== undefined || stdout.isTTY !== true));
  const stream = log.syslogFacility !== undefined ? syslogStream(name, log.syslogFacility, log.format === 'json', raw, options.syslogSocket)
    : json ? raw : { write: (line: string) => raw.write(formatJsonLine(line)) };
  const logger = pino({ level: log.level, base: { pid: process.pid, service: name } }, stream);
  return {
    logger,
    target: log.syslogFacility !== undefined ? `syslog (${log.syslogFacility})` : file ?? 'standard output',
    reopen: () => {
      batch?.flush();
      if (file !== undefined) sonic?.reopen();
    },
  };
}

/** The logger of a long-running command; SIGHUP reopens log_file (and never stops the process). */
export function createLogger(config: GlimpseConfig, name = 'glimpse-api'): Logger {
  const logging = createLogging(config, { name });
  process.on('SIGHUP', () => {
    logging.reopen();
    logging.logger.info({ target: logging.target }, `SIGHUP: log reopened (${logging.target})`);
  });
  return logging.logger;
}
