// `trusted-auth`: identity from the headers an authenticating proxy (or keystonemiddleware)
// sets: X-Identity-Status, X-User-Id, X-Project-Id/X-Tenant-Id, X-Roles, X-Service-Roles.
// Only safe behind a proxy that strips these headers from client requests.
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import type { Identity } from '../ports/context.ts';
import type { IdentityProvider } from '../ports/identity.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

export function splitRoles(value: string | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map((r) => r.trim().toLowerCase()).filter((r) => r !== ''))];
}

export function unauthorized(): DomainError {
  return new DomainError('Unauthorized', 'auth.required',
    msg('This server could not verify that you are authorized to access the document you requested. '
      + 'Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand '
      + 'how to supply the credentials required.'));
}

/** Identity from the X-* headers keystonemiddleware produces; shared by trusted-auth and keystone. */
export function identityFromHeaders(headers: Headers): Identity {
  return {
    userId: header(headers, 'x-user-id') ?? null,
    projectId: header(headers, 'x-project-id') ?? header(headers, 'x-tenant-id') ?? null,
    roles: splitRoles(header(headers, 'x-roles')),
    userDomainId: header(headers, 'x-user-domain-id') ?? null,
    projectDomainId: header(headers, 'x-project-domain-id') ?? null,
    serviceRoles: splitRoles(header(headers, 'x-service-roles')),
    authenticated: true,
    // Glance's context middleware keeps X-Auth-Token whoever validated it (here: the proxy in front).
    ...(header(headers, 'x-auth-token') ? { authToken: header(headers, 'x-auth-token') } : {}),
  };
}

export class TrustedHeadersIdentityProvider implements IdentityProvider {
  readonly name = 'trusted-auth';
  async authenticate(headers: Headers): Promise<Identity> {
    if (header(headers, 'x-identity-status') !== 'Confirmed') throw unauthorized();
    return identityFromHeaders(headers);
  }
}
