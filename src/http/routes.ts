// Route registration with Glance's method rules: a known path with a method it does not
// serve answers 405 with an Allow header listing the methods it does serve (HEAD included:
// Glance never answers HEAD for a GET route).
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
const allMethods: Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** The order Glance's routers list methods in Allow (GET, PUT, POST, PATCH, DELETE). */
const allowOrder: Method[] = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'];

export type Handler<P = Record<string, string>> =
  (request: FastifyRequest<{ Params: P }>, reply: FastifyReply) => Promise<unknown>;

export interface RouteOptions {
  /** Public routes (versions, healthcheck) skip identity. */
  public?: boolean;
}

/** What the OpenAPI document (openapi.ts) says of a route beyond its method and path. */
export interface RouteDoc {
  summary?: string;
  /** Name of a schema registered with schema(): the JSON request body. */
  request?: string;
  /** Media type of a body that is not JSON (data uploads, JSON patch). */
  requestType?: string;
  /** Name of a registered schema: the JSON response body. */
  response?: string;
  /** Media type of a response body that is not JSON (image data). */
  responseType?: string;
  /** Success status (default 200). */
  status?: number;
}

// find-my-way lets a parameter match the empty string (`/v2/images/` matches `/v2/images/:id`);
// Glance's router does not, so such a path is simply unknown.
function hasEmptyParam(request: FastifyRequest): boolean {
  return Object.values(request.params as Record<string, string>).some((value) => value === '');
}

const unknownPath = () => new DomainError('NotFound', 'http.not_found', msg('The resource could not be found.'));

export class RouteTable {
  private readonly paths = new Map<string, Method[]>();
  private readonly allowOverrides = new Map<string, string>();
  private readonly docs = new Map<string, RouteDoc>();
  private readonly schemaDocs = new Map<string, Record<string, unknown>>();

  constructor(private readonly app: FastifyInstance) {}

  add<P = Record<string, string>>(method: Method, url: string, handler: Handler<P>, options: RouteOptions = {}): this {
    const methods = this.paths.get(url) ?? [];
    if (methods.includes(method)) throw new Error(`route ${method} ${url} registered twice`);
    methods.push(method);
    this.paths.set(url, methods);
    const shorthand: RouteShorthandOptions = { config: { public: options.public === true } };
    this.app.route({
      method, url, ...shorthand,
      handler: async (request, reply) => {
        if (hasEmptyParam(request)) throw unknownPath();
        return handler(request as FastifyRequest<{ Params: P }>, reply);
      },
    });
    return this;
  }

  /** Every registered route (method and URL pattern), in registration order. */
  entries(): Array<{ method: Method; url: string }> {
    return [...this.paths].flatMap(([url, methods]) => methods.map((method) => ({ method, url })));
  }

  /** Whether `method url` is registered. */
  has(method: Method, url: string): boolean {
    return this.paths.get(url)?.includes(method) ?? false;
  }

  /** Documents a registered route (openapi.ts); describing an unknown route is a bug. */
  describe(method: Method, url: string, doc: RouteDoc): this {
    if (!this.has(method, url)) throw new Error(`cannot describe ${method} ${url}: no such route`);
    this.docs.set(`${method} ${url}`, doc);
    return this;
  }

  docOf(method: Method, url: string): RouteDoc | undefined {
    return this.docs.get(`${method} ${url}`);
  }

  /** Registers a JSON schema document that routes serve or accept (the same object the router uses). */
  schema(name: string, document: Record<string, unknown>): this {
    this.schemaDocs.set(name, document);
    return this;
  }

  schemas(): ReadonlyMap<string, Record<string, unknown>> {
    return this.schemaDocs;
  }

  /** The Allow header of a path whose Glance router lists its methods in another order than allowOrder. */
  allowAs(url: string, allow: string): this {
    this.allowOverrides.set(url, allow);
    return this;
  }

  /** Registers the 405 answers; call once after every route of the table is added. */
  seal(): void {
    for (const [url, methods] of this.paths) {
      const others = allMethods.filter((m) => !methods.includes(m));
      if (others.length === 0) continue;
      const allow = this.allowOverrides.get(url)
        ?? [...methods].sort((a, b) => allowOrder.indexOf(a) - allowOrder.indexOf(b)).join(', ');
      this.app.route({
        method: others, url, config: { public: false },
        handler: async (request) => {
          if (hasEmptyParam(request)) throw unknownPath();
          throw new DomainError('MethodNotAllowed', 'http.method_not_allowed',
            msg('The method {method} is not allowed for this resource.', { method: request.method }),
            { headers: { allow } });
        },
      });
    }
  }
}
