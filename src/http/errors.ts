// The one error mapper: DomainErrors, fastify's own errors and anything unexpected become
// a status code and a Glance-shaped body in the client's language. Nothing else in
// Glimpse decides an error status.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorKind } from '../domain/errors.ts';
import { msg, type Message } from '../i18n/message.ts';
import { translate } from '../i18n/catalogue.ts';
import { errorFormatFor, renderErrorBody } from './error-body.ts';

interface StatusInfo { status: number; title: string; explanation: string }

// webob's titles and stock explanations (the text shown when a handler gives none).
const statuses: Record<ErrorKind, StatusInfo> = {
  BadRequest: { status: 400, title: 'Bad Request',
    explanation: 'The server could not comply with the request since it is either malformed or otherwise incorrect.' },
  Unauthorized: { status: 401, title: 'Unauthorized',
    explanation: 'This server could not verify that you are authorized to access the document you requested. '
      + 'Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand '
      + 'how to supply the credentials required.' },
  Forbidden: { status: 403, title: 'Forbidden', explanation: 'Access was denied to this resource.' },
  NotFound: { status: 404, title: 'Not Found', explanation: 'The resource could not be found.' },
  MethodNotAllowed: { status: 405, title: 'Method Not Allowed',
    explanation: 'The method {method} is not allowed for this resource.' },
  NotAcceptable: { status: 406, title: 'Not Acceptable',
    explanation: 'The resource could not be generated that was acceptable to your browser.' },
  Conflict: { status: 409, title: 'Conflict',
    explanation: 'There was a conflict when trying to complete your request.' },
  Gone: { status: 410, title: 'Gone',
    explanation: 'This resource is no longer available.  No forwarding address is given.' },
  PreconditionFailed: { status: 412, title: 'Precondition Failed', explanation: 'Request precondition failed.' },
  PayloadTooLarge: { status: 413, title: 'Request Entity Too Large',
    explanation: 'The body of your request was too large for this server.' },
  UnsupportedMediaType: { status: 415, title: 'Unsupported Media Type',
    explanation: 'The request media type {contentType} is not supported by this server.' },
  RangeNotSatisfiable: { status: 416, title: 'Request Range Not Satisfiable',
    explanation: 'The Range requested is not available.' },
  Internal: { status: 500, title: 'Internal Server Error',
    explanation: 'The server has either erred or is incapable of performing the requested operation.' },
  NotImplemented: { status: 501, title: 'Not Implemented',
    explanation: 'The request method {method} is not implemented for this server.' },
  ServiceUnavailable: { status: 503, title: 'Service Unavailable',
    explanation: 'The server is currently unavailable. Please try again at a later time.' },
};

/** The stock explanations, for the catalogue completeness test. */
export function stockExplanations(): string[] {
  return Object.values(statuses).map((s) => s.explanation);
}

export function statusOf(kind: ErrorKind): number {
  return statuses[kind].status;
}

/** Fastify's own failures (body parsing, limits, timeouts) as domain errors. */
function fromFastify(error: FastifyError): DomainError {
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return new DomainError('PayloadTooLarge', 'request.too_large', msg('The request body is too large.'));
  }
  if (status === 415) {
    return new DomainError('UnsupportedMediaType', 'request.media_type', msg('Unsupported Content-Type'));
  }
  if (status >= 400 && status < 500) {
    return new DomainError('BadRequest', 'request.invalid', msg('The request could not be understood.'));
  }
  return new DomainError('Internal', 'internal', msg(statuses.Internal.explanation));
}

export function toDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const maybe = error as Partial<FastifyError> | undefined;
  if (maybe && typeof maybe.code === 'string' && maybe.code.startsWith('FST_')) return fromFastify(maybe as FastifyError);
  return new DomainError('Internal', 'internal', msg(statuses.Internal.explanation), { cause: error });
}

export interface RenderOptions {
  locale: string | undefined;
  accept: string | undefined;
  method: string;
  contentType?: string;
  /** v1 clients crash on flat JSON error objects (spec/v1.md §7): never answer them JSON. */
  forbidJson?: boolean;
}

export function renderError(error: DomainError, options: RenderOptions) {
  const info = statuses[error.kind];
  const vars = { method: options.method, contentType: options.contentType ?? '' };
  const stock: Message = msg(info.explanation, vars);
  const translated = translate(error.detail, options.locale);
  const template = error.kind === 'MethodNotAllowed' ? 'method' as const
    : error.kind === 'UnsupportedMediaType' ? 'mediaType' as const : 'standard' as const;
  const explanation = error.placement === 'explanation' && template !== 'method'
    ? translated : translate(stock, options.locale);
  const detail = error.placement === 'detail' ? translated : '';
  const format = errorFormatFor(options.accept, options.forbidJson);
  const rendered = renderErrorBody(format, {
    status: info.status, title: info.title, explanation, detail,
    template,
  });
  return { status: info.status, headers: error.headers, ...rendered };
}

/** webob's reason phrases that differ from Node.js's (RFC 7231 renamed these; Glance still says the old names). */
const WEBOB_REASONS: Record<number, string> = {
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  416: 'Requested Range Not Satisfiable',
};

/** Sends `error` on `reply`, logging server-side failures with their cause. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const domainError = toDomainError(error);
  const status = statusOf(domainError.kind);
  if (status >= 500) request.log.error({ err: domainError.cause ?? error, code: domainError.code }, 'request failed');
  else request.log.info({ status, code: domainError.code }, domainError.message);
  const out = renderError(domainError, {
    locale: request.locale,
    accept: request.headers.accept,
    method: request.method,
    contentType: request.headers['content-type'],
    forbidJson: request.apiVersion === 1,
  });
  reply.code(out.status).headers(out.headers);
  // The status line's reason as webob words it, where Node.js's differs (clients print it).
  const reason = WEBOB_REASONS[out.status];
  if (reason !== undefined) reply.raw.statusMessage = reason;
  // Like webob, a HEAD answer has no body and the HTML type.
  if (request.method === 'HEAD') return reply.type('text/html; charset=UTF-8').send();
  return reply.type(out.contentType).send(out.body);
}
