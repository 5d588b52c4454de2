// `allow_anonymous_access`: requests that carry no credentials act as an anonymous caller
// (no user, no project, no roles) instead of getting 401. Credentials that are present but
// invalid are still refused. What an anonymous caller may do is up to the policy.
import type { Identity } from '../ports/context.ts';
import type { IdentityProvider } from '../ports/identity.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export const anonymousIdentity: Readonly<Identity> = Object.freeze({
  userId: null, projectId: null, roles: [], serviceRoles: [], authenticated: false,
});

export class AnonymousFallback implements IdentityProvider {
  readonly name: string;

  constructor(private readonly inner: IdentityProvider, private readonly hasCredentials: (headers: Headers) => boolean) {
    this.name = `${inner.name}+anonymous`;
  }

  async authenticate(headers: Headers): Promise<Identity> {
    if (!this.hasCredentials(headers)) return { ...anonymousIdentity, roles: [], serviceRoles: [] };
    return this.inner.authenticate(headers);
  }
}
