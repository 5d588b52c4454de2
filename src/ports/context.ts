// What every service call receives about the caller and the request.

/** The subset of pino's logger that services and adapters use. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface Identity {
  userId: string | null;
  projectId: string | null;
  /** Lower-cased role names. */
  roles: string[];
  userDomainId?: string | null;
  projectDomainId?: string | null;
  /** Roles carried by an X-Service-Token, lower-cased (empty when none). */
  serviceRoles: string[];
  authenticated: boolean;
  /** The caller's X-Auth-Token, passed on to the key manager as Glance passes its context (Keystone, trusted headers). */
  authToken?: string;
}

export interface RequestContext extends Identity {
  requestId: string;
  isAdmin: boolean;
  log: Logger;
  /** Fires when the client goes away; long operations pass it down to stop work. */
  signal: AbortSignal;
}
