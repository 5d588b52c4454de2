// Request ids: `req-<uuid>` on every response. An inbound X-Openstack-Request-Id is adopted
// (with `req-` added if missing) when it is short enough and made of safe characters;
// otherwise a fresh one is made (Glance answers 500 for an over-long one and echoes any
// characters; both are worse than starting a new id).
import { randomUUID } from 'node:crypto';

const safe = /^[A-Za-z0-9._:-]+$/;

export function requestIdFor(inbound: string | string[] | undefined, maxLength: number): string {
  const value = Array.isArray(inbound) ? inbound[0] : inbound;
  if (value !== undefined && value !== '' && safe.test(value)) {
    const id = value.startsWith('req-') ? value : `req-${value}`;
    if (id.length <= maxLength) return id;
  }
  return `req-${randomUUID()}`;
}
