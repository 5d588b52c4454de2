// /healthcheck in oslo.middleware's shape: 200 "OK", or 503 with the reason when the
// operator's disable file exists or the metadata database does not answer.
import { existsSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import type { DatabaseHealth } from '../ports/repositories.ts';

export interface HealthcheckOptions {
  disableByFilePath?: string;
  database: DatabaseHealth;
  /** How long the database may take to answer before it counts as down. */
  timeoutMs?: number;
}

async function reasons(options: HealthcheckOptions): Promise<string[]> {
  if (options.disableByFilePath && existsSync(options.disableByFilePath)) return ['DISABLED BY FILE'];
  const timeoutMs = options.timeoutMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      options.database.ping(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), timeoutMs); }),
    ]);
    return [];
  } catch {
    return ['DATABASE UNAVAILABLE'];
  } finally {
    clearTimeout(timer);
  }
}

export function healthcheckHandler(options: HealthcheckOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const failures = await reasons(options);
    const ok = failures.length === 0;
    const lines = ok ? ['OK'] : failures;
    reply.code(ok ? 200 : 503);
    const type = new Negotiator({ headers: { accept: request.headers.accept ?? '*/*' } })
      .mediaType(['text/plain', 'application/json']);
    if (type === 'application/json') {
      return reply.type('application/json').send(JSON.stringify({ detailed: false, reasons: lines }, null, 4));
    }
    return reply.type('text/plain; charset=UTF-8').send(lines.join('\n'));
  };
}
