// Renders one pino JSON record as a readable line, for terminals, log files read by people and
// syslog: `2026-12-07 20:45:07.123 12345 INFO [req-… project=p user=u image=i] message key=value`.
// Errors follow on indented lines (their stack). No colours: the same text goes to files.

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };

/** Fields shown in the bracket or the head of the line, not repeated as key=value. */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'request_id', 'project_id', 'user_id', 'image_id', 'err', 'v']);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Local time, as oslo.log writes it. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

function errorLines(err: unknown): string[] {
  if (typeof err !== 'object' || err === null) return [];
  const { stack, message } = err as { stack?: unknown; message?: unknown };
  const text = typeof stack === 'string' ? stack : typeof message === 'string' ? message : JSON.stringify(err);
  return text.split('\n').map((line) => `    ${line.trim()}`);
}

/** Text of one record without time and pid (syslog adds its own); `withHead` adds them. */
export function formatRecord(record: Record<string, unknown>, options: { withHead?: boolean } = {}): string {
  const level = LEVELS[Number(record['level'])] ?? String(record['level']);
  const context = [
    typeof record['request_id'] === 'string' ? record['request_id'] : '',
    record['project_id'] !== undefined ? `project=${value(record['project_id'])}` : '',
    record['user_id'] !== undefined ? `user=${value(record['user_id'])}` : '',
    record['image_id'] !== undefined ? `image=${value(record['image_id'])}` : '',
  ].filter(Boolean).join(' ');
  const extras = Object.entries(record).filter(([k, v]) => !SHOWN.has(k) && v !== undefined).map(([k, v]) => `${k}=${value(v)}`);
  const err = record['err'] as { message?: unknown } | undefined;
  const parts = [
    ...(options.withHead === false ? [] : [formatTime(Number(record['time'] ?? Date.now())), String(record['pid'] ?? '')]),
    level, ...(context ? [`[${context}]`] : []), String(record['msg'] ?? ''),
    ...(err && typeof err.message === 'string' && !String(record['msg'] ?? '').includes(err.message) ? [`: ${err.message}`] : []),
    ...extras,
  ];
  const head = parts.join(' ').replace(' : ', ': ');
  const level50 = Number(record['level']) >= 50;
  return [head, ...(err && level50 ? errorLines(err).slice(1) : [])].join('\n');
}

/** One JSON line (as pino writes it) → one text entry ending in a newline; anything unparsable is passed through. */
export function formatJsonLine(line: string, options: { withHead?: boolean } = {}): string {
  try {
    const record = JSON.parse(line) as unknown;
    if (typeof record !== 'object' || record === null) return line.endsWith('\n') ? line : `${line}\n`;
    return `${formatRecord(record as Record<string, unknown>, options)}\n`;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
}
