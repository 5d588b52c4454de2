// The import rules of the house (DESIGN.md "The house"; docs/architecture.md), checked by
// dependency-cruiser in `npm run lint` (so in CI). Type-only imports count: a layer that names
// another layer's types depends on it.
//
// How it works: every top-level folder of src/ is declared in LAYERS with the folders it may
// import (its own always). An import that no `allowed` rule covers is an error ("not-in-allowed"),
// so a new folder, or a new edge between folders, must be declared here first. The allowed edges
// form a graph without cycles, and the `no-folder-cycle` rule checks the tree itself as well.
// Narrow exceptions (one file, with the reason) are in EXCEPTIONS. Packages: `forbidden` says who
// may import fastify, kysely and the SQL drivers, and the store SDKs.
//
// Adding a top-level folder src/<name>/: add `<name>: { may: [...], why: '...' }` to LAYERS (what
// it may import, and why it exists), add the folders that may import it to their `may` lists, and
// describe it in docs/architecture.md (test/unit/architecture.test.ts fails until both are done).

/** Folder → the other top-level folders of src/ it may import. */
const LAYERS = {
  domain: { may: [], why: 'entities, state machine, invariants, typed errors; no I/O' },
  i18n: { may: [], why: 'message ids and catalogues' },
  ports: { may: ['domain'], why: 'interfaces only: what services need from the outside' },
  lib: { may: ['i18n'], why: 'framework-free helpers (streams, hashing pool, ranges, lazy imports)' },
  formats: { may: ['lib'], why: 'streaming disk-format inspector: pure parsing of bytes' },
  config: { may: ['i18n'], why: 'option schema, INI loader, env overrides; knows no adapter' },
  policy: { may: ['domain', 'ports', 'i18n'], why: 'oslo.policy check strings, Glance rules, property protections' },
  net: { may: ['ports', 'config', 'lib'], why: 'the SSRF-safe outbound fetcher and the ExternalSource over it' },
  db: { may: ['domain', 'ports', 'i18n'], why: 'kysely repositories and migrations (the only SQL)' },
  identity: { may: ['domain', 'ports', 'i18n', 'lib', 'config'], why: 'Keystone, trusted headers, noauth' },
  stores: { may: ['domain', 'ports', 'i18n', 'lib', 'net', 'config', 'formats'], why: 'registry, the upload pipeline (writer.ts), one folder per driver' },
  services: { may: ['domain', 'ports', 'i18n', 'policy', 'formats', 'lib'], why: 'use cases named after policy rules; ports only' },
  tasks: { may: ['domain', 'ports', 'i18n', 'services', 'stores', 'formats', 'lib', 'config', 'signature'], why: 'task worker with leases, import steps, import plugins' },
  http: { may: ['domain', 'ports', 'i18n', 'services', 'lib', 'config'], why: 'fastify app, the v1 and v2 dialects, the one error mapper' },
  signature: { may: ['domain', 'ports', 'i18n', 'lib'], why: 'image signature verification (cursive\'s rules over node:crypto) and the Barbican key manager' },
  cache: { may: ['domain', 'ports', 'i18n', 'lib', 'config'], why: 'the image cache of this node: files on local disk, metadata through its port' },
  metrics: { may: ['domain', 'ports'], why: 'Prometheus metrics (prom-client): the registry, the StoreDriver decorator, the listener of its own' },
  notify: { may: ['domain', 'ports', 'i18n', 'lib', 'config', 'services'], why: 'notifications: the outbox relay and its transports (RabbitMQ in oslo.messaging\'s format, the log); the only folder that imports amqplib' },
  cli: { may: ['*'], why: 'the glimpse command: composes like main.ts' },
  migrate: { may: ['*'], why: '`glimpse migrate from-glance`: a composition tool like cli/ (stores, a database, the app for --verify) that reads a Glance database' },
};

/** Single files outside a layer's `may` list that it may import, each with its reason. */
const EXCEPTIONS = [
  { from: 'domain', to: '^src/i18n/message[.]ts$',
    reason: 'DomainError carries a translatable message (id + params); message.ts is data and interpolation, no I/O.' },
  { from: 'ports', to: '^src/i18n/message[.]ts$', reason: 'as domain: port errors carry translatable messages.' },
  { from: 'services', to: '^src/stores/writer[.]ts$',
    reason: 'DESIGN.md: the store writer is THE upload pipeline (limit, hash, inspect, driver.put) every use case shares; it talks to drivers through the StoreDriver port only.' },
  { from: 'services', to: '^src/stores/errors[.]ts$',
    reason: 'the typed errors the writer throws (size cap, checksum mismatch), mapped by services to Glance\'s statuses.' },
  { from: 'services', to: '^src/config/hash-algorithms[.]ts$',
    reason: 'the table of Glance\'s hashing_algorithm names to node hash names (constants), shared with the writer.' },
  { from: 'config', to: '^src/db/url[.]ts$',
    reason: '[database] connection is validated at boot with the parser db/connect.ts uses, so an accepted URL is one the database layer opens; url.ts imports no SQL driver or kysely (rule config-reaches-no-sql).' },
  { from: 'policy', to: '^src/config/(ini|errors)[.]ts$',
    reason: 'the property protection file is an operator configuration file in glance-api.conf\'s INI dialect, parsed by the same parser and reported at boot as a ConfigError like any other configuration error.' },
  { from: 'services', to: '^src/signature/(check|verifier|recorded)[.]ts$',
    reason: 'signature verification is a streaming check over the upload like the format inspector (formats/): pure node:crypto computation; the key manager it needs comes in through ports/key-manager.ts, never barbican.ts.' },
];

const names = Object.keys(LAYERS).join('|');
const allowed = [
  // Packages and node's own modules (who may import which package: `forbidden` below).
  { from: { path: '^src/' }, to: { dependencyTypes: ['core', 'npm'] } },
  // The composition root and the CLI put everything together.
  { from: { path: '^src/main[.]ts$' }, to: { path: '^src/' } },
  ...Object.entries(LAYERS).map(([layer, { may }]) => ({
    from: { path: `^src/${layer}/` },
    to: { path: may.includes('*') ? '^src/' : `^src/(${[layer, ...may].join('|')})/` },
  })),
  ...EXCEPTIONS.map(({ from, to }) => ({ from: { path: `^src/${from}/` }, to: { path: to } })),
];

const forbidden = [
  {
    name: 'undeclared-folder',
    comment: 'Every top-level folder of src/ (and main.ts, the only file at the top) is declared in LAYERS of .dependency-cruiser.mjs.',
    severity: 'error',
    from: { path: `^src/(?!(${names})/|main[.]ts$)` },
    to: {},
  },
  {
    name: 'no-folder-cycle',
    comment: 'No import cycles between folders.',
    severity: 'error',
    scope: 'folder',
    from: { path: '^src/' },
    to: { circular: true },
  },
  {
    name: 'no-file-cycle',
    comment: 'No runtime import cycles between files. Type-only imports may point back (a router declares the context type its route files take; config/types.ts is the typed result of the schema files that name it): they vanish at runtime and load nothing.',
    severity: 'error',
    from: { path: '^src/' },
    to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
  },
  {
    name: 'only-http-imports-fastify',
    comment: 'Only src/http/ imports fastify (main.ts only names the app\'s type).',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/(http/|main[.]ts$)' },
    to: { path: '^node_modules/(fastify|@fastify)/' },
  },
  {
    name: 'only-db-imports-sql',
    comment: 'Only src/db/ imports kysely and the SQL drivers.',
    severity: 'error',
    // migrate/ reads a Glance database (Glance's tables, not Glimpse's schema) with kysely.
    from: { path: '^src/', pathNot: '^src/(db|migrate)/' },
    to: { path: '^node_modules/(kysely|better-sqlite3|pg|pg-[^/]+|mysql2)/' },
  },
  {
    name: 'config-reaches-no-sql',
    comment: 'config/ must not pull in kysely or an SQL driver, even through db/url.ts.',
    severity: 'error',
    from: { path: '^src/config/' },
    to: { path: '^src/db/', reachable: true, pathNot: '^src/db/url[.]ts$' },
  },
  {
    name: 'only-notify-imports-amqplib',
    comment: 'The AMQP client is imported only by src/notify/.',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/notify/' },
    to: { path: '^node_modules/amqplib/' },
  },
  {
    name: 'store-sdk-in-its-driver',
    comment: 'The S3 SDK is imported only by stores/s3/.',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/stores/s3/' },
    to: { path: '^node_modules/@aws-sdk/' },
  },
  {
    name: 'drivers-do-not-import-each-other',
    comment: 'Each stores/<x>/ imports only its own folder (and the shared stores/ files), never another driver.',
    severity: 'error',
    from: { path: '^src/stores/([^/]+)/' },
    to: { path: '^src/stores/[^/]+/', pathNot: '^src/stores/$1/' },
  },
  {
    name: 'shared-stores-files-know-no-driver',
    comment: 'The writer and the store errors are driver-agnostic: only the registry (and info.ts) name drivers.',
    severity: 'error',
    from: { path: '^src/stores/[^/]+[.]ts$', pathNot: '^src/stores/(registry|info)[.]ts$' },
    to: { path: '^src/stores/[^/]+/' },
  },
  {
    name: 'services-use-no-driver',
    comment: 'services/ never import a concrete store, identity provider, repository or the task engine.',
    severity: 'error',
    from: { path: '^src/services/' },
    to: { path: '^src/(stores/(?!writer[.]ts$|errors[.]ts$)|identity/|db/|tasks/|http/|net/)' },
  },
  {
    name: 'v1-and-v2-never-meet',
    comment: 'http/v1 and http/v2 are two thin dialects over the same services: neither imports the other.',
    severity: 'error',
    from: { path: '^src/http/(v1|v2)/' },
    to: { path: '^src/http/(v1|v2)/', pathNot: '^src/http/$1/' },
  },
  {
    name: 'http-core-knows-no-dialect',
    comment: 'The shared http/ files (app, errors, replies) serve both dialects and import neither.',
    severity: 'error',
    from: { path: '^src/http/[^/]+[.]ts$' },
    to: { path: '^src/http/(v1|v2)/' },
  },
  {
    name: 'domain-does-no-io',
    comment: 'domain/ imports no package and no node module.',
    severity: 'error',
    from: { path: '^src/domain/' },
    to: { dependencyTypes: ['core', 'npm'] },
  },
  {
    name: 'no-dev-dependency-in-src',
    comment: 'src/ runs in production: no devDependency.',
    severity: 'error',
    from: { path: '^src/' },
    to: { dependencyTypes: ['npm-dev'] },
  },
  {
    name: 'no-unresolvable',
    comment: 'Every import resolves.',
    severity: 'error',
    from: {},
    to: { couldNotResolve: true },
  },
];

export default {
  forbidden,
  allowed,
  allowedSeverity: 'error',
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    combinedDependencies: false,
  },
};

export { LAYERS, EXCEPTIONS };
