// Typed domain errors. Services throw these; http/errors.ts is the only place that turns
// them into status codes and Glance-shaped bodies. `code` is stable and safe to match on.
import { interpolate, msg, type Message, type MessageParams } from '../i18n/message.ts';

export type ErrorKind =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'Conflict'
  | 'Gone'
  | 'PreconditionFailed'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'RangeNotSatisfiable'
  | 'Internal'
  | 'NotImplemented'
  | 'ServiceUnavailable';

export interface ErrorOptions {
  headers?: Record<string, string>;
  cause?: unknown;
  placement?: 'explanation' | 'detail';
}

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly detail: Message;
  /** Extra response headers the error implies (Allow, Accept-Patch, WWW-Authenticate, Retry-After …). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Where the message goes in Glance's error body: most Glance handlers pass it as the
   * explanation (replacing the status's stock text); a few pass it as the detail under it.
   */
  readonly placement: 'explanation' | 'detail';

  constructor(kind: ErrorKind, code: string, detail: Message, options: ErrorOptions = {}) {
    // The English text with its values, for logs and stack traces; responses render `detail` per locale.
    super(interpolate(detail.id, detail.params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `${kind}Error`;
    this.kind = kind;
    this.code = code;
    this.detail = detail;
    this.headers = options.headers ?? {};
    this.placement = options.placement ?? 'explanation';
  }
}

type Factory = (id: string, params?: MessageParams, code?: string) => DomainError;

function factory(kind: ErrorKind, defaultCode: string): Factory {
  return (id, params = {}, code = defaultCode) => new DomainError(kind, code, msg(id, params));
}

// Convenience constructors; the message id must be a literal (see i18n/message.ts).
export const badRequest = factory('BadRequest', 'bad_request');
export const forbidden = factory('Forbidden', 'forbidden');
export const notFound = factory('NotFound', 'not_found');
export const conflict = factory('Conflict', 'conflict');
export const gone = factory('Gone', 'gone');
export const payloadTooLarge = factory('PayloadTooLarge', 'payload_too_large');
export const unavailable = factory('ServiceUnavailable', 'unavailable');

/** The same error, rendered as a detail under the status's stock explanation (as some Glance handlers do). */
export function asDetail(error: DomainError): DomainError {
  return new DomainError(error.kind, error.code, error.detail, { headers: { ...error.headers }, placement: 'detail' });
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
