// One HTTP exchange with Keystone (token validation, service tokens, unified limits): the whole
// answer read, bounded by `timeoutSeconds`. Network failures reject with the underlying error; the
// callers turn them into their own DomainErrors.
import type { Dispatcher } from 'undici';
import { undici } from '../lib/lazy-import.ts';

export interface KeystoneAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function keystoneRequest(baseUrl: string, timeoutSeconds: number, method: 'GET' | 'POST', path: string,
  headers: Record<string, string>, body?: string, dispatcher?: Dispatcher): Promise<KeystoneAnswer> {
  const timeout = timeoutSeconds * 1000;
  const { request } = await undici();
  const res = await request(`${baseUrl}${path}`, {
    method, headers, body, headersTimeout: timeout, bodyTimeout: timeout, signal: AbortSignal.timeout(timeout),
    ...(dispatcher ? { dispatcher } : {}),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}
