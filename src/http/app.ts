// The fastify application: version negotiation (before routing), request context,
// versions document, healthcheck, the API routers, and the one error mapper.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';

import type { GlimpseConfig } from '../config/types.ts';
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import type { Identity } from '../ports/context.ts';
import type { IdentityProvider } from '../ports/identity.ts';
import type { RequestMetrics } from '../ports/metrics.ts';
import { installRequestMetrics } from './metrics.ts';
import type { DatabaseHealth } from '../ports/repositories.ts';
import { installContextHook, installRequestLog } from './context.ts';
import { installPartialBodyDrain } from './body.ts';
import { sendError } from './errors.ts';
import { healthcheckHandler, type HealthcheckOptions } from './healthcheck.ts';
import { requestIdFor } from './request-id.ts';
import { lazyChildLogger } from './request-logger.ts';
import { RouteTable, type Method } from './routes.ts';
import { openApiDocument } from './openapi.ts';
import { advertisedVersions, allowedVersionTokens, negotiate, versionsDocument, type ApiFeatures } from './versions.ts';

export interface AppDeps {
  config: GlimpseConfig;
  identity: IdentityProvider;
  database: DatabaseHealth;
  /** What /healthcheck reports beside the database (stores, the task worker). */
  health?: Pick<HealthcheckOptions, 'stores' | 'worker'>;
  logger?: FastifyBaseLogger;
  /** The context_is_admin decision for an authenticated identity (default: has the admin role). */
  isAdmin?: (identity: Identity) => boolean;
  /** Each router adds its routes (v2, v1, …) to the shared table. */
  routers?: ((routes: RouteTable) => void)[];
  /** One of the routers serves the image cache API (/v2/cache) on a cache: only then are 2.14, 2.16 and 2.18 advertised. */
  cacheApi?: boolean;
  /** Request metrics ([metrics] enabled); `serveMetrics`: also answer GET /metrics on this port. */
  metrics?: RequestMetrics;
  serveMetrics?: boolean;
}

// Paths the negotiation step rewrites to. A client cannot reach them directly: their first
// segment is not a version, so negotiation would send such a request to the 300 answer.
const versionsPath = '/_glimpse/versions';
const choicesPath = '/_glimpse/choices';
const everyMethod: Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** What the versions document may advertise: only what is served (`image_cache_dir` alone serves nothing). */
export function featuresOf(config: GlimpseConfig, served: { cacheApi?: boolean } = {}): ApiFeatures {
  return {
    v1: config.enableV1Api,
    v2: config.enableV2Api,
    multiStore: config.stores.multiStore,
    cache: config.enableV2Api && served.cacheApi === true,
  };
}

/** The newest API version served (the CURRENT one of the versions document), e.g. `2.16`. */
export function apiVersion(features: ApiFeatures): string {
  return (advertisedVersions(features).find((v) => v.status === 'CURRENT')?.id ?? 'v2').replace(/^v/, '');
}

export function baseUrl(config: GlimpseConfig, protocol: string, host: string | undefined): string {
  return config.publicEndpoint ?? `${protocol}://${host ?? `${config.bindHost}:${config.bindPort}`}`;
}

/** The HTTPS server's options: with ca_file, a client must present a certificate that CA issued. */
export function serverTlsOptions(tls: NonNullable<GlimpseConfig['tls']>): HttpsServerOptions {
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ...(tls.caFile ? { ca: readFileSync(tls.caFile), requestCert: true, rejectUnauthorized: true } : {}),
  };
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const { config } = deps;
  const features = featuresOf(config, { cacheApi: deps.cacheApi });
  const tokens = allowedVersionTokens(features);

  const app = Fastify({
    // cert_file / key_file / ca_file: HTTPS from this process (fastify's server type differs only in typing).
    ...(config.tls ? { https: serverTlsOptions(config.tls) } : {}),
    loggerInstance: deps.logger,
    // One line per request, written when it ends (context.ts installRequestLog).
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // Request loggers become pino children only when something logs through them (request-logger.ts).
    childLoggerFactory: lazyChildLogger,
    genReqId: (req) => requestIdFor(req.headers['x-openstack-request-id'], config.maxRequestIdLength),
    exposeHeadRoutes: false,
    // Path parameters (tags, member ids) are validated by the API's own rules (e.g. tags ≤ 255 → 400).
    routerOptions: { maxParamLength: 4096 },
    return503OnClosing: true,
    // client_socket_timeout: a connection silent this long is closed, also mid-body (a stalled upload
    // is then aborted through the request's AbortSignal, and the upload reverts as on a disconnect).
    connectionTimeout: config.clientSocketTimeout * 1000,
    keepAliveTimeout: config.clientSocketTimeout > 0 ? Math.min(72_000, config.clientSocketTimeout * 1000) : 72_000,
    forceCloseConnections: 'idle',
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      if (path === '/healthcheck' || path === '/openapi.json' || (deps.serveMetrics && path === '/metrics')) return url;
      // The seed documents' unversioned image list (GET /images) is the v1 brief list.
      if (features.v1 && req.method === 'GET' && (path === '/images' || path === '/images/')
        && !req.headers.accept?.startsWith('application/vnd.openstack.images-')) {
        return `/v1/images${q === -1 ? '' : url.slice(q)}`;
      }
      const decision = negotiate(path, req.headers.accept, tokens);
      if (decision.kind === 'versions') return decision.explicit ? versionsPath : choicesPath;
      return decision.path + (q === -1 ? '' : url.slice(q));
    },
  });

  // Bodies are not parsed up front: JSON routes read and validate their body themselves
  // (Glance ignores Content-Type for JSON), data routes stream it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  installContextHook(app, deps.identity, deps.isAdmin ?? ((identity) => identity.roles.includes('admin')));
  installRequestLog(app);
  installPartialBodyDrain(app);
  // Glance answers `application/json` without a charset; fastify adds one to string payloads.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') reply.header('content-type', 'application/json');
    if (!config.httpKeepalive) reply.header('connection', 'close');
    done(null, payload);
  });
  if (deps.metrics) installRequestMetrics(app, deps.metrics, deps.serveMetrics === true);
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) => sendError(request, reply,
    new DomainError('NotFound', 'http.not_found', msg('The resource could not be found.'))));

  const versions = (status: number) => async (request: FastifyRequest,
    reply: FastifyReply) => {
    const doc = versionsDocument(features, baseUrl(config, request.protocol, request.headers.host));
    return reply.code(status).type('application/json').send(JSON.stringify(doc));
  };
  app.route({ method: everyMethod, url: versionsPath, config: { public: true }, handler: versions(200) });
  app.route({ method: everyMethod, url: choicesPath, config: { public: true }, handler: versions(300) });
  app.route({
    method: everyMethod, url: '/healthcheck', config: { public: true },
    handler: healthcheckHandler({ database: deps.database, disableByFilePath: config.healthcheck.disableByFilePath,
      detailed: config.healthcheck.detailed, ...deps.health }),
  });
  if (features.v2) {
    app.route({
      method: everyMethod, url: '/v2',
      handler: async (request, reply) =>
        reply.code(302).type('text/plain; charset=utf8')
          .header('location', `${baseUrl(config, request.protocol, request.headers.host)}/v2/`).send(),
    });
  }

  const routes = new RouteTable(app);
  for (const router of deps.routers ?? []) router(routes);
  routes.seal();
  app.decorate('routeTable', routes);
  let openapi: string | undefined;
  app.route({
    method: ['GET', 'HEAD'], url: '/openapi.json', config: { public: true },
    handler: async (_request, reply) => {
      openapi ??= JSON.stringify(openApiDocument(routes, { version: apiVersion(features) }));
      return reply.type('application/json').send(openapi);
    },
  });
  return app;
}
