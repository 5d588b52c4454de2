// Authorization port; src/policy/ implements it with oslo.policy-compatible rules.
import type { RequestContext } from './context.ts';

export type PolicyTarget = Record<string, unknown>;
export type PolicyCredentials = Pick<RequestContext,
  'userId' | 'projectId' | 'roles' | 'serviceRoles' | 'userDomainId' | 'projectDomainId' | 'isAdmin'>;

export interface Authorizer {
  /** Whether `rule` allows the caller on `target`. */
  check(rule: string, target: PolicyTarget, ctx: PolicyCredentials): boolean;
  /** Like check, but throws the Forbidden DomainError "You are not authorized to complete <rule> action.". */
  enforce(rule: string, target: PolicyTarget, ctx: PolicyCredentials): void;
}
