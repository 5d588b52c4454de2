// Composition root: config → adapters → services → app. The only place that creates
// concrete adapters (database, identity provider, stores) and wires them together.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { GlimpseConfig } from './config/types.ts';
import { openDatabase, type Database } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import { redactUrl } from './db/url.ts';
import { baseUrl, buildApp } from './http/app.ts';
import { NoauthIdentityProvider } from './identity/noauth.ts';
import { TrustedHeadersIdentityProvider } from './identity/trusted-headers.ts';
import { KeystoneIdentityProvider } from './identity/keystone.ts';
import { AnonymousFallback } from './identity/anonymous.ts';
import type { IdentityProvider } from './ports/identity.ts';
import type { ExternalSource } from './ports/external-source.ts';
import type { ImageLister, ImageRepository } from './ports/repositories.ts';
import { SqlImageRepository } from './db/image-repository.ts';
import { isDomainError } from './domain/errors.ts';
import { SqlImageLister } from './db/image-lister.ts';
import { SqlMemberRepository } from './db/member-repository.ts';
import { PolicyEnforcer, isAdminByPolicy } from './policy/enforcer.ts';
import { loadPropertyProtections } from './policy/property-protections.ts';
import { createStoreRegistry } from './stores/registry.ts';
import { checkPathsAtStart } from './stores/startup-check.ts';
import { cachedStoreProbe } from './stores/health.ts';
import { ImageService, type ImageServiceDeps } from './services/images.ts';
import { BarbicanKeyManager } from './signature/barbican.ts';
import { TransferBudget } from './services/transfer-budget.ts';
import { ImageDataService } from './services/image-data.ts';
import { MemberService } from './services/members.ts';
import { SqlMetadefRepository } from './db/metadef-repository.ts';
import { MetadefNamespaceService } from './services/metadef-namespaces.ts';
import { MetadefItemService } from './services/metadef-items.ts';
import { LocationService } from './services/locations.ts';
import { DiscoveryService } from './services/discovery.ts';
import { LocationProber } from './services/location-probe.ts';
import { storeInfos, storeWeights } from './stores/info.ts';
import { v2Router } from './http/v2/router.ts';
import { v1Router } from './http/v1/router.ts';
import { LegacyImageService } from './services/legacy-images.ts';
import { LegacyMemberService } from './services/legacy-members.ts';
import { SafeUrlSource } from './net/url-source.ts';
import { createSafeFetcher, type SafeFetcher } from './net/index.ts';
import { defaultCustomProperties, imageSchema } from './http/v2/schema-documents.ts';
import { loadImageSchemaFile } from './config/image-schema.ts';
import { SqlTaskRepository } from './db/task-repository.ts';
import { FileStoreDriver } from './stores/file/file-driver.ts';
import { ImageImportService } from './services/image-import.ts';
import { TaskService } from './services/tasks.ts';
import { Scrubber } from './services/scrubber.ts';
import { ImageAccess } from './services/image-access.ts';
import { ImageImportRunner } from './tasks/image-import.ts';
import { createImportPlugins } from './tasks/plugins/index.ts';
import { importPluginSettings } from './tasks/plugins/staged.ts';
import { legacyImportHandler } from './tasks/legacy-import.ts';
import { TaskWorker, defaultWorkerId } from './tasks/worker.ts';
import { TransferRecovery } from './tasks/recovery.ts';
import { SqlTransferRepository } from './db/transfer-repository.ts';
import { TransferTracker } from './services/transfer-tracker.ts';
import { ProjectQuotas } from './services/project-quotas.ts';
import { SqlQuotaRepository } from './db/quota-repository.ts';
import { KeystoneLimitSource } from './identity/keystone-limits.ts';
import { copyFromHandler } from './tasks/v1-copy-from.ts';
import { locationImportHandler } from './tasks/location-import.ts';
import type { StoreRegistry } from './stores/registry.ts';
import type { RemoteFetcher, RemoteGlance } from './ports/fetch.ts';
import { DEFAULT_EXTRA_PROPERTIES, KeystoneRemoteGlance } from './tasks/remote-glance.ts';
import { SqlCacheMetadata } from './db/cache-repository.ts';
import { LocalImageCache } from './cache/local-cache.ts';
import { CachePrefetcher } from './cache/prefetcher.ts';
import { CacheService } from './services/image-cache.ts';
import { sortByStoreWeight } from './services/location-data.ts';
import type { Image } from './domain/image.ts';
import { reclaimWhenIdle } from './lib/idle-reclaim.ts';

/** Quiet time after which a server runs one full collection to give memory back (lib/idle-reclaim.ts). */
const IDLE_RECLAIM_MS = 5000;
import { GlimpseMetrics, clusterMetrics, reportToPrimary } from './metrics/registry.ts';
import { instrumentStore } from './metrics/store-metrics.ts';
import { startMetricsListener } from './metrics/listener.ts';
import { SqlOutbox } from './db/outbox-repository.ts';
import { createNotifications, type Notifications } from './notify/setup.ts';
import { imagesWithEvents, membersWithEvents, tasksWithEvents } from './services/event-decorators.ts';
import type { TaskRepository } from './ports/tasks.ts';

/** A temp file idle this long belongs to no live upload (each write refreshes its mtime). */
const TEMP_FILE_MAX_IDLE_MS = 60 * 60 * 1000;

function identityProvider(config: GlimpseConfig, logger: Logger): IdentityProvider {
  const { flavor, keystone, allowAnonymousAccess } = config.auth;
  if (flavor === 'noauth') return new NoauthIdentityProvider();
  const provider = flavor === 'keystone'
    ? new KeystoneIdentityProvider(keystone!, { log: logger })
    : new TrustedHeadersIdentityProvider();
  if (!allowAnonymousAccess) return provider;
  return new AnonymousFallback(provider, flavor === 'keystone'
    ? (headers) => headers['x-auth-token'] !== undefined
    : (headers) => headers['x-identity-status'] === 'Confirmed');
}

export interface Composed {
  app: FastifyInstance;
  database: Database;
  /** This node's image cache and its prefetcher, when image_cache_dir is set. */
  cache?: { local: LocalImageCache; prefetcher: CachePrefetcher };
  /** The in-process task worker, when `[task] run_worker_in_api` is on (and for `glimpse worker`). */
  worker?: TaskWorker;
  /** This process's recovery sweep (tasks/recovery.ts). */
  recovery: TransferRecovery;
  /** This process's Prometheus metrics, when [metrics] enabled (decision 0024). */
  metrics?: GlimpseMetrics;
  close(): Promise<void>;
}

/** The staging area of interoperable import: a file store under the shared staging directory. */
function stagingStore(config: GlimpseConfig): FileStoreDriver {
  return new FileStoreDriver({ id: 'os_glance_staging_store', dataDir: config.imageImport.stagingDir });
}

/** The URL fetcher of web-download and the legacy import task: src/net/'s SSRF-checked fetcher. */
function remoteFetcher(safe: SafeFetcher): RemoteFetcher {
  return {
    allows: (url) => safe.checkUrl(url).ok,
    async open(url, options) {
      const res = await safe.fetch(url, { maxBytes: options.maxBytes ?? Infinity, signal: options.signal, headers: options.headers });
      return { stream: res.body, size: res.contentLength };
    },
  };
}

/** glance-download's access to other regions: only with Keystone, whose catalog names them. */
function remoteGlance(config: GlimpseConfig, logger: Logger): RemoteGlance | undefined {
  const keystone = config.auth.keystone;
  if (config.auth.flavor !== 'keystone' || !keystone) return undefined;
  const service = new KeystoneIdentityProvider(keystone, { log: logger });
  return new KeystoneRemoteGlance({ authUrl: keystone.authUrl, serviceToken: () => service.serviceAuthToken(),
    extraProperties: DEFAULT_EXTRA_PROPERTIES });
}

function importRunner(config: GlimpseConfig, logger: Logger, stores: StoreRegistry,
  deps: Pick<ImageServiceDeps, 'images' | 'settings' | 'bufferBudget' | 'notifier' | 'quotas'> & { safeFetcher: SafeFetcher }): ImageImportRunner {
  return new ImageImportRunner({
    images: deps.images, stores, staging: stagingStore(config), settings: deps.settings, bufferBudget: deps.bufferBudget,
    quotas: deps.quotas,
    multiStore: config.stores.multiStore, fetcher: remoteFetcher(deps.safeFetcher), remoteGlance: remoteGlance(config, logger),
    plugins: createImportPlugins(importPluginSettings(config)), pluginLog: logger.child({ component: 'import-plugins' }),
    notifier: deps.notifier,
  });
}

/** The task worker with its handlers (api_image_import, legacy import, location_import, v1 copy-from). */
export function createTaskWorker(config: GlimpseConfig, logger: Logger, database: Database, stores: StoreRegistry,
  deps: ImageServiceDeps & { safeFetcher: SafeFetcher; externalSource?: ExternalSource },
  options: { keepProcessAlive?: boolean; workerId?: string } = {}): TaskWorker {
  const legacyDeps = v1Deps(deps, database);
  const legacyImages = new LegacyImageService(legacyDeps, new ImageService(legacyDeps), new ImageDataService(legacyDeps),
    deps.externalSource ?? new SafeUrlSource(deps.safeFetcher));
  const runner = importRunner(config, logger, stores, deps);
  const locations = new LocationService(deps);
  const locationLog = logger.child({ component: 'location-import' });
  return new TaskWorker({
    tasks: taskRepository(database, deps), log: logger.child({ component: 'task-worker' }),
    leaseSeconds: config.tasks.leaseSeconds, pollIntervalSeconds: config.tasks.pollIntervalSeconds,
    timeToLiveHours: config.tasks.timeToLiveHours, keepProcessAlive: options.keepProcessAlive, workerId: options.workerId,
    onAbandon: async (task, message) => {
      if (task.type === 'location_import') return locations.abandonLocationImport(task, locationLog);
      const lock = task.id;
      if (task.imageId) await runner.abandon(task.imageId, lock, task, message);
    },
    handlers: {
      api_image_import: (run) => runner.run(run),
      import: legacyImportHandler({ images: deps.images, runner, defaultStore: () => stores.default().id }),
      location_import: locationImportHandler({ locations, log: locationLog }),
      v1_copy_from: copyFromHandler({ images: legacyImages, log: logger.child({ component: 'v1-copy-from' }) }),
    },
  });
}

/** The recovery sweep of this process (tasks/recovery.ts), owner id shared with its task worker and transfers. */
export function createRecovery(config: GlimpseConfig, logger: Logger, database: Database, stores: StoreRegistry,
  deps: Pick<ImageServiceDeps, 'images' | 'settings' | 'bufferBudget' | 'notifier' | 'quotas'> & { safeFetcher: SafeFetcher }, owner: string,
  options: { keepProcessAlive?: boolean } = {}): TransferRecovery {
  const runner = importRunner(config, logger, stores, deps);
  return new TransferRecovery({
    transfers: new SqlTransferRepository(database), images: deps.images, tasks: taskRepository(database, deps), stores,
    staging: stagingStore(config), owner, leaseSeconds: config.tasks.leaseSeconds,
    intervalSeconds: config.tasks.recoveryIntervalSeconds, log: logger.child({ component: 'recovery' }),
    abandonImport: (imageId, lock, task, message) => runner.abandon(imageId, lock, task, message),
    keepProcessAlive: options.keepProcessAlive,
    sweepReservations: config.keystoneLimits ? (now) => new SqlQuotaRepository(database).sweep(now) : undefined,
  });
}

/** Keystone unified limits (use_keystone_limits), reserved in the database under this process's owner id. */
export function projectQuotas(config: GlimpseConfig, logger: Logger, database: Database, owner: string): ProjectQuotas | undefined {
  if (!config.keystoneLimits) return undefined;
  const log = logger.child({ component: 'quotas' });
  return new ProjectQuotas({ limits: new KeystoneLimitSource(config.keystoneLimits, { log }), repository: new SqlQuotaRepository(database),
    owner, leaseSeconds: config.quotaReservationLease, log });
}

function policyEnforcer(config: GlimpseConfig, logger: Logger): PolicyEnforcer {
  if (!config.policy.policyFile) return new PolicyEnforcer();
  const enforcer = PolicyEnforcer.fromFile(config.policy.policyFile, { missingOk: true });
  for (const warning of enforcer.warnings) logger.warn({ policy_file: enforcer.path }, warning);
  enforcer.autoReload(5000, () => logger.info({ policy_file: enforcer.path }, 'policy file reloaded'));
  return enforcer;
}

/** The task repository, with task.* notifications when they are on. */
function taskRepository(database: Database, deps: Pick<ImageServiceDeps, 'notifier'>): TaskRepository {
  return tasksWithEvents(new SqlTaskRepository(database), deps.notifier);
}

/**
 * This process's notifier and outbox relay ([oslo_messaging_notifications]); the relay runs in
 * every `serve` and `worker` process, one of them publishing at a time (notify/relay.ts).
 */
function notifications(config: GlimpseConfig, logger: Logger, database: Database, holder: string): Notifications {
  return createNotifications(config.notifications, new SqlOutbox(database), logger.child({ component: 'notifications' }), holder);
}

function imageRepository(database: Database): ImageRepository & ImageLister {
  const repository = new SqlImageRepository(database);
  const lister = new SqlImageLister(database);
  return {
    create: (image, opts) => repository.create(image, opts),
    get: (id, opts) => repository.get(id, opts),
    getWithMembership: (id, memberId) => repository.getWithMembership(id, memberId),
    update: (image, opts) => repository.update(image, opts),
    locationInUse: (url, except) => repository.locationInUse(url, except),
    pendingDeletes: (options) => repository.pendingDeletes(options),
    list: (query) => lister.list(query),
    storageUsed: (owner) => lister.storageUsed(owner),
  };
}

function imageSettings(config: GlimpseConfig): ImageServiceDeps['settings'] {
  return {
    imageSizeCap: config.imageSizeCap, userStorageQuota: config.userStorageQuota,
    imagePropertyQuota: config.imagePropertyQuota, imageTagQuota: config.imageTagQuota,
    imageMemberQuota: config.imageMemberQuota, delayedDelete: config.delayedDelete,
    hashingAlgorithm: config.hashingAlgorithm, limitParamDefault: config.limitParamDefault,
    apiLimitMax: config.apiLimitMax,
    showMultipleLocations: config.showMultipleLocations, imageLocationQuota: config.imageLocationQuota,
    multiStore: config.stores.multiStore, storeWeights: storeWeights(config),
    inspection: {
      requireFormatMatch: config.imageFormat.requireFormatMatch,
      vmdkAllowedTypes: config.imageFormat.vmdkAllowedTypes,
      gptSafetyChecksNonfatal: config.imageFormat.gptSafetyChecksNonfatal,
    },
  };
}

/** This node's image cache (files under image_cache_dir, metadata in the main database) and its prefetcher. */
export async function createImageCache(config: GlimpseConfig, logger: Logger, database: Database,
  images: ImageRepository, stores: StoreRegistry): Promise<{ local: LocalImageCache; prefetcher: CachePrefetcher } | undefined> {
  const settings = config.imageCache;
  if (!settings) return undefined;
  const log = logger.child({ component: 'image-cache', node: settings.node });
  const local = new LocalImageCache({ dir: settings.dir, node: settings.node, maxSize: settings.maxSize,
    stallTimeSeconds: settings.stallTimeSeconds, metadata: new SqlCacheMetadata(database), images, log });
  await local.init();
  const weights = storeWeights(config);
  const openData = async (image: Image) => {
    const location = sortByStoreWeight(image.locations.filter((l) => l.status === 'active'), weights)[0];
    const driver = location && stores.forLocation(location.url);
    return driver ? (await driver.get(location.url)).stream : undefined;
  };
  const prefetcher = new CachePrefetcher({ cache: local, images, openData, log, intervalSeconds: settings.prefetcherIntervalSeconds });
  return { local, prefetcher };
}

/**
 * The v1 API's use cases get the same deps with image events in Glance v1's payload shape
 * (Notifier.forV1, docs/decisions/0031); with notifications off they are the same deps.
 */
function v1Deps<D extends ImageServiceDeps>(deps: D, database: Database): D {
  const notifier = deps.notifier?.forV1();
  if (!notifier || notifier === deps.notifier) return deps;
  return { ...deps, notifier, images: imagesWithEvents(imageRepository(database), notifier),
    members: membersWithEvents(new SqlMemberRepository(database), notifier) };
}

/** What every use case gets: repositories, stores, policy, settings (API processes and workers alike). */
function serviceDeps(config: GlimpseConfig, logger: Logger, database: Database, stores: StoreRegistry,
  safeFetcher: SafeFetcher, extra: Pick<ImageServiceDeps, 'transfers' | 'notifier' | 'quotas'> = {}): ImageServiceDeps & { staging: FileStoreDriver; policy: PolicyEnforcer } {
  const policy = policyEnforcer(config, logger);
  const { file: protectionFile, ruleFormat } = config.propertyProtection;
  const deps: ImageServiceDeps & { staging: FileStoreDriver; policy: PolicyEnforcer } = {
    images: imagesWithEvents(imageRepository(database), extra.notifier),
    members: membersWithEvents(new SqlMemberRepository(database), extra.notifier), policy, stores, log: logger,
    staging: stagingStore(config),
    propertyProtections: protectionFile ? loadPropertyProtections(protectionFile, ruleFormat, policy) : undefined,
    settings: imageSettings(config),
    keyManager: new BarbicanKeyManager(config.keyManager.barbican),
    bufferBudget: new TransferBudget({ bytes: config.transfers.bufferBudget, waitMs: config.transfers.budgetWaitSeconds * 1000 }),
    ...extra,
  };
  deps.prober = new LocationProber({
    stores, policy, fetcher: safeFetcher, log: logger,
    httpStoreId: config.stores.backends.find((b) => b.type === 'http' || b.type === 'https')?.id,
    hashingAlgorithm: config.hashingAlgorithm, imageSizeCap: config.imageSizeCap,
  });
  return deps;
}

/** Builds the whole application on an open, migrated database. */
export interface ComposeOptions {
  migrate?: boolean;
  /** Run a task worker in this process (default: [task] run_worker_in_api). */
  worker?: boolean;
  /** Where v1 locations and copy-from read from (default: the SSRF-safe fetcher of src/net/). */
  externalSource?: ExternalSource;
  /** Check directories and stores before serving (stores/startup-check.ts), as `glimpse serve` does. */
  checkPaths?: boolean;
}

export async function compose(config: GlimpseConfig, logger: Logger, options: ComposeOptions = {}): Promise<Composed> {
  const database = await openDatabase(config.database.connection);
  try {
    if (options.migrate !== false) await migrateToLatest(database);
    // One SSRF-checked fetcher for http stores, location probes, import fetches and v1 locations/copy-from.
    const safeFetcher = createSafeFetcher(config.importFiltering);
    const metrics = config.metrics.enabled ? new GlimpseMetrics() : undefined;
    const stores = createStoreRegistry(config, { log: logger, fetcher: safeFetcher,
      decorate: metrics && ((driver) => instrumentStore(driver, metrics)) });
    // Other processes (workers, other nodes) may share the data directory: only temp files that no
    // upload has written to for an hour are a crash's leftovers; a live upload's are never touched.
    if (options.checkPaths === true) await checkPathsAtStart(config, stores, logger);
    await stores.recoverTempFiles({ olderThanMs: TEMP_FILE_MAX_IDLE_MS });
    const owner = defaultWorkerId();
    const transfers = new TransferTracker({ transfers: new SqlTransferRepository(database), owner,
      leaseSeconds: config.tasks.leaseSeconds, log: logger });
    const notify = notifications(config, logger, database, owner);
    const quotas = projectQuotas(config, logger, database, owner);
    const deps = serviceDeps(config, logger, database, stores, safeFetcher, { transfers, notifier: notify.notifier, quotas });
    const cache = await createImageCache(config, logger, database, deps.images, stores);
    deps.cache = cache?.local;
    const { policy, staging } = deps;
    const worker = (options.worker ?? config.tasks.runWorkerInApi)
      ? createTaskWorker(config, logger, database, stores, { ...deps, safeFetcher, externalSource: options.externalSource },
        { workerId: owner })
      : undefined;
    const recovery = createRecovery(config, logger, database, stores, { ...deps, safeFetcher }, owner);
    const tasksRepo = taskRepository(database, deps);
    const taskStats = new SqlTaskRepository(database);
    metrics?.readFrom({ taskQueue: () => taskStats.queueStats(new Date()), pool: () => database.poolStats() });
    const fetcher = remoteFetcher(safeFetcher);
    const onTaskCreated = (id: string) => worker?.poke(id);
    const imports = new ImageImportService({
      ...deps, staging, tasks: tasksRepo, fetcher, onTaskCreated,
      remoteGlance: remoteGlance(config, logger),
      importSettings: { methods: config.imageImport.methods, multiStore: config.stores.multiStore,
        selfReferenceUrl: config.imageImport.selfReferenceUrl, taskTimeToLiveHours: config.tasks.timeToLiveHours,
        stagedDataMayBeCompressed: config.importPlugins.plugins.includes('image_decompression') },
    });
    const tasks = new TaskService({
      tasks: tasksRepo, policy, access: new ImageAccess(deps.images, deps.members, policy), fetcher,
      limitParamDefault: config.limitParamDefault, apiLimitMax: config.apiLimitMax, onTaskCreated,
    });
    const routers = [];
    const imageService = new ImageService(deps);
    const dataService = new ImageDataService(deps);
    if (config.enableV1Api) {
      const legacyDeps = v1Deps(deps, database);
      const v1Services = legacyDeps === deps ? { imageService, dataService }
        : { imageService: new ImageService(legacyDeps), dataService: new ImageDataService(legacyDeps) };
      routers.push(v1Router({
        images: new LegacyImageService(legacyDeps, v1Services.imageService, v1Services.dataService,
          options.externalSource ?? new SafeUrlSource(safeFetcher), { tasks: tasksRepo, onTaskCreated }),
        members: new LegacyMemberService(legacyDeps),
        formats: { diskFormats: config.imageFormat.diskFormats, containerFormats: config.imageFormat.containerFormats },
        imageSizeCap: config.imageSizeCap,
        baseUrl: (request) => baseUrl(config, request.protocol, request.headers.host),
      }));
    }
    if (config.enableV2Api) {
      const metadefDeps = { metadefs: new SqlMetadefRepository(database), policy,
        limits: { default: config.limitParamDefault, max: config.apiLimitMax }, notifier: notify.notifier };
      routers.push(v2Router({
        services: { images: imageService, data: dataService, members: new MemberService(deps),
          metadefNamespaces: new MetadefNamespaceService(metadefDeps), metadefItems: new MetadefItemService(metadefDeps),
          imports, tasks,
          locations: new LocationService(deps, { tasks: tasksRepo, onTaskCreated }),
          cache: { service: new CacheService({ ...deps, cache: cache?.local, onQueued: () => cache?.prefetcher.pokeSoon() }),
            legacy: config.auth.flavorSuffixes.includes('cachemanagement') },
          discovery: new DiscoveryService(policy, config.stores.multiStore ? storeInfos(config) : undefined, quotas) },
        imageSchema: imageSchema(config.imageFormat.diskFormats, config.imageFormat.containerFormats,
          config.imageSchemaFile ? loadImageSchemaFile(config.imageSchemaFile) : defaultCustomProperties),
        importMethods: config.imageImport.methods,
        // Glance lists its two reserved internal stores after the configured ones.
        storeIds: config.stores.multiStore
          ? [...config.stores.backends.map((b) => b.id), 'os_glance_staging_store', 'os_glance_tasks_store'] : [],
        multiStore: config.stores.multiStore,
        showImageDirectUrl: config.showImageDirectUrl,
        showMultipleLocations: config.showMultipleLocations,
        baseUrl: (request) => baseUrl(config, request.protocol, request.headers.host),
      }));
    }
    const app = buildApp({
      config, identity: identityProvider(config, logger), database, logger, routers, cacheApi: cache !== undefined,
      metrics, serveMetrics: metrics !== undefined && config.metrics.bindPort === undefined,
      isAdmin: (identity) => isAdminByPolicy(policy, { ...identity, isAdmin: false }),
      health: { stores: cachedStoreProbe(stores), ...(worker ? { worker: () => worker.status() } : {}) },
    });
    await app.ready();
    worker?.start();
    recovery.start();
    cache?.prefetcher.start();
    notify.relay?.start();
    return {
      app, database, worker, cache, recovery, metrics,
      async close() {
        // Each step logged at debug level, so a shutdown that hangs shows where.
        const step = async (name: string, work: () => unknown) => {
          logger.debug(`stopping: ${name}`);
          await work();
        };
        await step('HTTP server (in-flight requests)', () => app.close());
        await step('notification relay', () => notify.relay?.stop());
        await step('transfer leases', () => transfers.stop());
        await step('quota reservations', () => quotas?.stop());
        await step('recovery sweep', () => recovery.stop());
        await step('task worker', () => worker?.stop());
        await step('cache prefetcher', async () => { await cache?.prefetcher.stop(); await cache?.local.idle(); });
        await step('stores', () => stores.close());
        await step('database', () => database.close());
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

export function describeSetup(config: GlimpseConfig): string[] {
  const store = config.stores.backends.find((b) => b.id === config.stores.defaultBackend);
  return [
    `database ${redactUrl(config.database.connection)}`,
    `default store ${store ? `${store.id} (${store.type}${store.filesystemStoreDatadir ? ` at ${store.filesystemStoreDatadir}` : ''})` : 'none'}`,
    `auth ${config.auth.flavor}`,
    `APIs ${[config.enableV2Api ? 'v2' : '', config.enableV1Api ? 'v1' : ''].filter(Boolean).join(', ') || 'none'}`,
    config.sourceFile ? `config file ${config.sourceFile}` : 'config file none (embedded defaults)',
  ];
}

/** The one start-up line: where it serves and on what. */
function servingLine(url: string, config: GlimpseConfig, workers?: number): string {
  return `Glimpse is serving the Images API at ${url} `
    + `(${workers === undefined ? '' : `${workers} worker processes; `}${describeSetup(config).join('; ')})`;
}

/**
 * Runs the API: migrates once, then serves in this process (workers = 1) or in N forked
 * workers. SIGTERM/SIGINT stop accepting connections and let in-flight requests finish,
 * for at most `gracefulShutdownTimeout` seconds.
 */
export async function serve(config: GlimpseConfig, logger: Logger): Promise<void> {
  if (cluster.isPrimary) {
    const database = await openDatabase(config.database.connection);
    try { await migrateToLatest(database); } finally { await database.close(); }
  }
  if (cluster.isPrimary && config.workers > 1) return supervise(config, logger);
  return runWorker(config, logger);
}

async function runWorker(config: GlimpseConfig, logger: Logger): Promise<void> {
  const composed = await compose(config, logger, { migrate: false, checkPaths: true });
  // fastify logs one "Server listening" line per address; the line below replaces them all.
  const level = composed.app.log.level;
  composed.app.log.level = 'warn';
  const url = await composed.app.listen({ host: config.bindHost, port: config.bindPort })
    .finally(() => { composed.app.log.level = level; });
  await serveMetricsApart(config, logger, composed.metrics);
  if (cluster.isPrimary) logger.info({ url }, servingLine(url, config));
  else logger.info({ url, worker: cluster.worker?.id }, `API worker process ${cluster.worker?.id ?? ''} is serving at ${url}`);
  const stopReclaiming = reclaimWhenIdle(composed.app.server, { quietMs: IDLE_RECLAIM_MS });
  onStopSignal((signal) => {
    stopReclaiming();
    stopGracefully(signal, config, logger, () => composed.close());
  });
}

/** Calls `stop` once, on the first SIGTERM or SIGINT. */
function onStopSignal(stop: (signal: string) => void): void {
  let stopping = false;
  const once = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  process.on('SIGTERM', () => once('SIGTERM'));
  process.on('SIGINT', () => once('SIGINT'));
}

/**
 * Drains and exits, always with a last line that says how it ended: drained (exit 0), timed out
 * after graceful_shutdown_timeout (exit 1), or failed (exit 1). The timer is not unref'd: the
 * process cannot slip away silently while close() waits.
 */
function stopGracefully(signal: string, config: GlimpseConfig, logger: Logger, close: () => Promise<void>): void {
  const started = Date.now();
  const limit = config.gracefulShutdownTimeout;
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  logger.info(`${signal}: draining in-flight requests${limit > 0 ? ` (for at most ${limit} s)` : ''}`);
  const timer = limit > 0
    ? setTimeout(() => {
      logger.warn(`stopped: graceful shutdown timed out after ${limit} s with requests still in flight`);
      process.exit(1);
    }, limit * 1000)
    : setInterval(() => undefined, 60_000);
  close().then(() => {
    clearTimeout(timer);
    logger.info(`stopped: drained in ${seconds()} s`);
    process.exit(0);
  }, (error: unknown) => {
    logger.error({ err: error }, `stopped after ${seconds()} s with an error while draining`);
    process.exit(1);
  });
}

/**
 * `glimpse scrubber`: removes the data of `pending_delete` images (delayed_delete) older than
 * scrub_time — one pass, or with `daemon` a pass every wakeup_time seconds until SIGTERM/SIGINT;
 * or with `restore` brings one such image back instead. Returns the process exit code.
 */
export async function runScrubber(config: GlimpseConfig, logger: Logger,
  options: { daemon?: boolean; restore?: string } = {}): Promise<number> {
  const database = await openDatabase(config.database.connection);
  try {
    await migrateToLatest(database);
    const scrubber = new Scrubber({
      images: new SqlImageRepository(database), stores: createStoreRegistry(config, { log: logger }),
      log: logger.child({ component: 'scrubber' }),
      scrubTimeSeconds: config.scrubber.scrubTimeSeconds, poolSize: config.scrubber.poolSize,
    });
    if (options.restore !== undefined) {
      try {
        await scrubber.restore(options.restore);
      } catch (error) {
        if (!isDomainError(error) || error.kind !== 'Conflict') throw error;
        process.stderr.write(`glimpse scrubber: ${error.message}\n`);
        return 1;
      }
      process.stdout.write(`image ${options.restore} restored\n`);
      return 0;
    }
    const pass = async () => {
      const report = await scrubber.scrubOnce();
      logger.info(report, 'scrubber pass done');
      process.stdout.write(`scrubbed ${report.scrubbed} image(s); ${report.failed} left pending after an error\n`);
      return report;
    };
    if (!options.daemon) return (await pass()).failed > 0 ? 1 : 0;
    let stopping = false;
    let wake: (() => void) | undefined;
    const stop = () => { stopping = true; wake?.(); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.stdout.write(`Glimpse scrubber started (a pass every ${config.scrubber.wakeupTimeSeconds} s)\n`);
    while (!stopping) {
      try {
        await pass();
      } catch (error) {
        logger.error({ err: error }, 'scrubber pass failed; trying again at the next wakeup');
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.scrubber.wakeupTimeSeconds * 1000);
        wake = () => { clearTimeout(timer); resolve(); };
      });
    }
    return 0;
  } finally {
    await database.close();
  }
}

/** `glimpse worker`: runs tasks only (no API), until SIGTERM/SIGINT. */
export async function runTaskWorker(config: GlimpseConfig, logger: Logger): Promise<void> {
  const database = await openDatabase(config.database.connection);
  await migrateToLatest(database);
  const safeFetcher = createSafeFetcher(config.importFiltering);
  const stores = createStoreRegistry(config, { log: logger, fetcher: safeFetcher });
  // API nodes may be uploading into the same directories: only an hour-old temp file is a leftover.
  await checkPathsAtStart(config, stores, logger);
  await stores.recoverTempFiles({ olderThanMs: TEMP_FILE_MAX_IDLE_MS });
  const workerId = defaultWorkerId();
  const notify = notifications(config, logger, database, workerId);
  const quotas = projectQuotas(config, logger, database, workerId);
  const workerDeps = { ...serviceDeps(config, logger, database, stores, safeFetcher, { notifier: notify.notifier, quotas }), safeFetcher };
  const worker = createTaskWorker(config, logger, database, stores, workerDeps, { keepProcessAlive: true, workerId });
  const recovery = createRecovery(config, logger, database, stores, workerDeps, worker.workerId, { keepProcessAlive: true });
  worker.start();
  recovery.start();
  notify.relay?.start();
  logger.info({ worker: worker.workerId }, `Glimpse task worker ${worker.workerId} started (${describeSetup(config).join('; ')})`);
  onStopSignal((signal) => stopGracefully(signal, config, logger, async () => {
    await Promise.all([worker.stop(), recovery.stop(), notify.relay?.stop()]);
    await database.close();
  }));
}

/**
 * [metrics] bind_port: the metrics listener of its own. A single process serves its own metrics; a
 * cluster worker reports to the main process, which serves every worker's added up (supervise).
 */
async function serveMetricsApart(config: GlimpseConfig, logger: Logger, metrics: GlimpseMetrics | undefined): Promise<void> {
  const { bindHost, bindPort } = config.metrics;
  if (!metrics || bindPort === undefined) return;
  if (cluster.isWorker) {
    reportToPrimary(metrics);
    return;
  }
  const listener = await startMetricsListener(bindHost, bindPort, () => metrics.render(), logger);
  logger.info({ url: listener.url }, 'serving metrics');
}

async function supervise(config: GlimpseConfig, logger: Logger): Promise<void> {
  let stopping = false;
  if (config.metrics.enabled && config.metrics.bindPort !== undefined) {
    const listener = await startMetricsListener(config.metrics.bindHost, config.metrics.bindPort, clusterMetrics(), logger);
    logger.info({ url: listener.url }, 'serving the metrics of every worker');
  }
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('stopped: every worker process has ended');
        process.exit(0);
      }
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'worker died; starting a new one');
    cluster.fork();
  });
  onStopSignal((signal) => {
    stopping = true;
    logger.info(`${signal}: stopping the ${config.workers} worker processes`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  });
  const host = config.bindHost.includes(':') ? `[${config.bindHost}]` : config.bindHost;
  const scheme = config.tls ? 'https' : 'http';
  logger.info({ url: `${scheme}://${host}:${config.bindPort}`, workers: config.workers },
    servingLine(`${scheme}://${host}:${config.bindPort}`, config, config.workers));
  return Promise.resolve();
}
