import type { Identity } from './context.ts';

/** Turns request headers into an identity, or throws a DomainError of kind Unauthorized. */
export interface IdentityProvider {
  readonly name: string;
  authenticate(headers: Readonly<Record<string, string | string[] | undefined>>): Promise<Identity>;
}
