// Request bodies. JSON routes read their own body (Glance ignores Content-Type for JSON),
// bounded in size; routes that take no body refuse one, as Glance does.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { DomainError, badRequest } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';

/** Upper bound of a JSON request body (an image with 128 long properties fits comfortably). */
export const maxJsonBytes = 8 * 1024 * 1024;

function bodyStream(request: FastifyRequest): Readable | undefined {
  const body = request.body as Readable | undefined;
  return body && typeof (body as Readable).pipe === 'function' ? body : undefined;
}

export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

async function readText(request: FastifyRequest): Promise<string> {
  const stream = bodyStream(request) ?? request.raw;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxJsonBytes) {
      throw new DomainError('PayloadTooLarge', 'request.too_large', msg('The request body is too large.'));
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Deepest nesting of arrays and objects a JSON body may have. Glance's documents need a handful of
 * levels (metadef namespaces with objects and property schemas about ten); the limit keeps deeply
 * nested input away from every recursive step after parsing (schema validation, copying, rendering).
 */
export const maxJsonDepth = 64;

/** The nesting depth of JSON text, counted without parsing (brackets inside strings do not count). */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

/** The parsed JSON body; `undefined` when there is none. Nesting beyond maxJsonDepth is a 400. */
export async function readJson(request: FastifyRequest): Promise<unknown> {
  if (!hasBody(request)) return undefined;
  const text = await readText(request);
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, maxJsonDepth) > maxJsonDepth) {
    throw badRequest('JSON nested deeper than {limit} levels is not accepted.', { limit: maxJsonDepth }, 'request.json_too_deep');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('Malformed JSON in request body.', {}, 'request.malformed_json');
  }
}

/** A JSON object body, as Glance's deserializers require ("Expected list/dict"). */
export async function readJsonObject(request: FastifyRequest, required = true): Promise<Record<string, unknown>> {
  const body = await readJson(request);
  if (body === undefined) {
    if (required) throw badRequest('Body expected in request.', {}, 'request.body_missing');
    return {};
  }
  if (typeof body !== 'object' || body === null) {
    throw badRequest('Unexpected body type. Expected list/dict.', {}, 'request.body_type');
  }
  return body as Record<string, unknown>;
}

export function rejectBody(request: FastifyRequest): void {
  if (hasBody(request)) throw badRequest('A body is not expected with this request.', {}, 'request.body_unexpected');
}

/** The raw request stream, for data routes. */
export function rawBody(request: FastifyRequest): Readable {
  return bodyStream(request) ?? request.raw;
}

/**
 * A request answered after its body was partly read (an upload refused or failed midway): Node.js
 * drains an unread body itself only when nobody started reading it, so such a connection would
 * stay open, paused, until the client gives up, and hold a graceful shutdown for as long. The
 * answer closes the connection, and the rest of the body is read and dropped, for at most 5 s.
 */
export function installPartialBodyDrain(app: FastifyInstance): void {
  const partlyRead = (raw: FastifyRequest['raw']) => !raw.complete && (raw.readableDidRead || raw.destroyed);
  // Callback-style hooks: an async one costs a promise and a microtask on every request.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (partlyRead(request.raw)) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, _reply, done) => {
    try {
      const raw = request.raw;
      if (!partlyRead(raw)) return;
      const socket = raw.socket;
      // light-my-request (app.inject) has no real socket.
      if (typeof socket?.destroy !== 'function' || typeof socket.once !== 'function') return;
      const timer = setTimeout(() => socket.destroy(), 5000);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
      if (raw.destroyed) {
        socket.resume();
        return;
      }
      raw.removeAllListeners('data');
      raw.once('end', () => clearTimeout(timer));
      raw.resume();
    } finally {
      done();
    }
  });
}
