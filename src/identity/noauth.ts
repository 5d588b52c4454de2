// `noauth`: every request acts as one development identity, admin of project `admin`.
// For the embedded single-user default only; never expose it beyond loopback.
import type { Identity } from '../ports/context.ts';
import type { IdentityProvider } from '../ports/identity.ts';

export const noauthIdentity: Readonly<Identity> = Object.freeze({
  userId: 'admin',
  projectId: 'admin',
  roles: ['admin', 'member', 'reader'],
  userDomainId: 'default',
  projectDomainId: 'default',
  serviceRoles: [],
  authenticated: true,
});

export class NoauthIdentityProvider implements IdentityProvider {
  readonly name = 'noauth';
  async authenticate(): Promise<Identity> {
    return { ...noauthIdentity, roles: [...noauthIdentity.roles], serviceRoles: [] };
  }
}
