// Per-request state on fastify's request object, and the hook that fills it:
// request id header, locale, API major version, identity → RequestContext, abort signal.
import type { FastifyInstance } from 'fastify';
import type { Identity, RequestContext } from '../ports/context.ts';
import type { IdentityProvider } from '../ports/identity.ts';
import { selectLocale } from '../i18n/catalogue.ts';
import { logLine } from './request-logger.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Catalogue chosen from Accept-Language (undefined = English). */
    locale: string | undefined;
    /** 1 or 2 for API routes, undefined for versions/healthcheck. */
    apiVersion: 1 | 2 | undefined;
    /** Caller and request state for services; set on every non-public route. */
    ctx: RequestContext;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}

export function installContextHook(app: FastifyInstance, identity: IdentityProvider,
  isAdmin: (who: Identity) => boolean): void {
  app.decorateRequest('locale', undefined);
  app.decorateRequest('apiVersion', undefined);
  app.decorateRequest('ctx', undefined as unknown as RequestContext);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-openstack-request-id', request.id);
    const imageId = imageIdOf(request.url);
    if (imageId !== undefined) request.log = request.log.child({ image_id: imageId });
    request.locale = selectLocale(request.headers['accept-language']);
    request.apiVersion = request.url.startsWith('/v1') ? 1 : request.url.startsWith('/v2') ? 2 : undefined;
    if (request.routeOptions.config.public === true) return;

    const who = await identity.authenticate(request.headers);
    // The abort signal is made when a service first asks for it (most requests never do): a
    // disconnect before that is remembered and the signal then starts aborted.
    let controller: AbortController | undefined;
    let disconnected = false;
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      disconnected = true;
      controller?.abort(new Error('client disconnected'));
    });
    const log = request.log.child({ project_id: who.projectId, user_id: who.userId });
    request.log = log;
    request.ctx = {
      ...who,
      requestId: request.id,
      isAdmin: isAdmin(who),
      log,
      get signal() {
        if (controller === undefined) {
          controller = new AbortController();
          if (disconnected) controller.abort(new Error('client disconnected'));
        }
        return controller.signal;
      },
    };
  });
}

/** The image a request is about, from its (negotiated) path, so that every line it logs names it. */
const IMAGE_PATH = /^\/v[12]\/(?:images|cache|stores\/[^/?]+)\/([^/?]+)/;

function imageIdOf(url: string): string | undefined {
  const id = IMAGE_PATH.exec(url)?.[1];
  return id === undefined || id === 'detail' ? undefined : decodeURIComponent(id);
}

/**
 * One line per request when it ends (instead of fastify's two), on the request's logger, so it
 * carries the request id, project, user and image: `GET /v2/images/… 200 in 3 ms`.
 */
export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    try {
      const ms = Math.round(reply.elapsedTime);
      const path = request.originalUrl ?? request.url;
      const fields = { http_method: request.method, http_path: path, http_status: reply.statusCode, response_time_ms: ms };
      const line = `${request.method} ${path} ${reply.statusCode} in ${ms} ms`;
      logLine(request.log, reply.statusCode >= 500 ? 'warn' : 'info', fields, line);
    } finally {
      done();
    }
  });
}
