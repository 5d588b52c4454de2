// Interoperable image import, the request side: PUT /stage (data into the shared staging store)
// and POST /import (validate as Glance does, take the import lock, create the task). The work itself
// runs in a task worker on any node (tasks/image-import.ts).
//
// The import lock is the image property os_glance_import_task = <task id>, taken and dropped by
// compare-and-set on the image row, so two racing imports cannot both hold it. A lock whose task is
// gone, finished, pending for over 2 hours or without news (updated_at, refreshed by the running
// worker's heartbeat) for over an hour is stale and taken over, as in Glance.
import type { Readable } from 'node:stream';
import { DomainError, badRequest, conflict, notFound } from '../domain/errors.ts';
import type { Image } from '../domain/image.ts';
import { assertTransition } from '../domain/image-rules.ts';
import type { Task } from '../domain/task.ts';
import { isFinished } from '../domain/task.ts';
import { msg } from '../i18n/message.ts';
import type { RequestContext } from '../ports/context.ts';
import type { RemoteFetcher, RemoteGlance, RemoteImage } from '../ports/fetch.ts';
import type { StoreDriver } from '../ports/store.ts';
import type { TaskRepository } from '../ports/tasks.ts';
import { writeImageData } from '../stores/writer.ts';
import { IMPORT_PROPS, type ImportMethod } from '../domain/import.ts';
import { buildImportTaskInput } from './import-input.ts';
import { stagedExists } from './staging.ts';
import { putReservation, type Release } from './transfer-budget.ts';
import { ImageAccess, imageNotFound } from './image-access.ts';
import { countedClaim, transferQuota, uploadBudget, type UploadBudget } from './image-data.ts';
import type { ImageServiceDeps } from './images.ts';
import { isVersionConflict } from './images.ts';
import { inspectingTap, judgeInspection } from './inspection.ts';
import { beginTransfer, withoutRecoveryNote } from './transfer-tracker.ts';
import { callerOf } from '../signature/check.ts';
import { recordCertificate, type RecordedCertificate } from '../signature/recorded.ts';
import { signatureProperties } from '../signature/verifier.ts';

export interface ImportSettings {
  methods: string[];
  multiStore: boolean;
  selfReferenceUrl?: string;
  taskTimeToLiveHours: number;
  /**
   * Staged data may legitimately differ from the declared disk_format (image_decompression is
   * enabled: a gzip'ed qcow2 declared qcow2): staging then applies only the safety checks, and the
   * import checks the declared format on what the plugins leave.
   */
  stagedDataMayBeCompressed?: boolean;
}

export interface ImageImportDeps extends ImageServiceDeps {
  tasks: TaskRepository;
  staging: StoreDriver;
  importSettings: ImportSettings;
  fetcher?: RemoteFetcher;
  /** glance-download's access to other regions (Keystone deployments only). */
  remoteGlance?: RemoteGlance;
  /** Told about each new task, so an in-process worker starts it at once. */
  onTaskCreated?: (taskId: string) => void;
}

export interface ImportRequest {
  body: unknown;
  /** X-Image-Meta-Store. */
  storeHeader?: string;
  /** The caller's X-Auth-Token (glance-download checks the remote image with it). */
  userToken?: string;
}

const PENDING_STALE_MS = 2 * 3600_000;
const RUNNING_STALE_MS = 3600_000;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export class ImageImportService {
  private readonly access: ImageAccess;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly deps: ImageImportDeps) {
    this.access = new ImageAccess(deps.images, deps.members, deps.policy);
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => crypto.randomUUID());
  }

  importMethods(): string[] {
    return [...this.deps.importSettings.methods];
  }

  /** PUT /v2/images/{id}/stage: queued → uploading, data streamed into the staging store. */
  async stageImage(ctx: RequestContext, id: string, source: Readable, options: { contentLength?: number } = {}): Promise<void> {
    if (!this.deps.importSettings.methods.includes('glance-direct')) {
      source.resume();
      throw notFound("'glance-direct' method is not available at this site.", {}, 'import.no_glance_direct');
    }
    const { image } = await this.access.loadFor(ctx, id, 'modify_image');
    assertTransition(image.status, 'uploading');
    const budget = await uploadBudget(this.deps, image, options.contentLength);
    if (options.contentLength !== undefined && options.contentLength > budget.maxBytes) throw budget.error();
    const { staging } = this.deps;
    if (await stagedExists(staging, id)) throw conflict('Staged data of image {id} already exists.', { id }, 'import.staged');
    const quota = await transferQuota(this.deps, image, 'image_stage_total', options.contentLength);
    try {
      const uploading = await countedClaim(this.deps, image, () => this.transition(image, 'queued',
        { ...image, status: 'uploading', properties: withoutRecoveryNote(image.properties) }));
      const transfer = await beginTransfer(this.deps.transfers, uploading, 'stage', staging.id, 'queued',
        () => this.unstage(ctx, uploading));
      try {
        await this.receiveStaged(ctx, image, uploading, quota ? quota.through(source) : source, budget, transfer?.signal);
      } finally {
        await transfer?.end();
      }
    } finally {
      // After the size update: the staged image now counts in image_stage_total itself.
      await quota?.release();
    }
  }

  /** The write into the staging store and the size update of stageImage; a failure unstages. */
  private async receiveStaged(ctx: RequestContext, image: Image, uploading: Image, source: Readable, budget: UploadBudget,
    takenOver: AbortSignal | undefined): Promise<void> {
    const { staging } = this.deps;
    const id = image.id;
    const tap = inspectingTap(this.deps.settings.inspection);
    let location: string | undefined;
    let release: Release | undefined;
    try {
      release = await this.deps.bufferBudget?.acquire(putReservation(staging), ctx.signal);
      const written = await writeImageData({ driver: staging, imageId: id, source, consumers: [tap.consumer], limit: budget,
        hashingAlgorithm: this.deps.settings.hashingAlgorithm, signal: takenOver ? AbortSignal.any([ctx.signal, takenOver]) : ctx.signal });
      location = written.location;
      const result = tap.finish(written.size);
      const declared = image.containerFormat === 'bare' && !this.deps.importSettings.stagedDataMayBeCompressed
        ? image.diskFormat : null;
      const verdict = judgeInspection(declared, result, this.deps.settings.inspection);
      if (!verdict.ok) {
        ctx.log.warn({ image_id: id, reason: verdict.reason, failures: verdict.failures }, 'staging refused by format inspection');
        throw verdict.error;
      }
      const properties = { ...uploading.properties };
      if (this.deps.importSettings.selfReferenceUrl) properties[IMPORT_PROPS.stageHost] = this.deps.importSettings.selfReferenceUrl;
      await this.deps.images.update({ ...uploading, size: written.size, properties, updatedAt: this.now() },
        { expectVersion: uploading.version, expectStatus: 'uploading' });
    } catch (error) {
      if (location !== undefined) await staging.delete(location).catch(() => {});
      await this.unstage(ctx, uploading);
      if (isVersionConflict(error)) throw imageNotFound(id);
      throw error;
    } finally {
      release?.();
    }
  }

  /** POST /v2/images/{id}/import: checks in Glance's order, then the lock and the task. */
  async importImage(ctx: RequestContext, id: string, request: ImportRequest): Promise<Task | undefined> {
    const body = parseBody(request.body, this.deps.importSettings.methods);
    const method = body.method.name as ImportMethod;
    // As Glance: a project already at its image_size_total may not start an import (413).
    if (this.deps.quotas && ctx.projectId) await this.deps.quotas.within(ctx.projectId, { image_size_total: 0 }, async () => {});
    const loaded = await this.access.load(ctx, id);
    let image = loaded.image;
    checkStatus(image, method);
    if (method === 'glance-download') {
      const { glance_image_id: remoteId, glance_region: region } = body.method;
      if (typeof region !== 'string' || region === '' || typeof remoteId !== 'string' || remoteId === '') {
        throw badRequest("'glance_region' and 'glance_image_id' are required for the glance-download import method.", {},
          'import.bad_request');
      }
      if (!UUID.test(remoteId)) throw badRequest('Remote image id does not look like a UUID: {id}', { id: remoteId }, 'import.bad_request');
    }
    this.access.authorize(ctx, loaded, method === 'copy-image' ? 'copy_image' : 'modify_image');
    await this.checkLock(image);
    const held = image.locations.filter((l) => l.status === 'active').map((l) => String(l.metadata.store ?? ''));
    const stores = this.targetStores(body, request.storeHeader, method, held);
    if (body.all_stores_must_succeed === false && !this.deps.importSettings.multiStore) {
      throw badRequest('Stores parameter and all_stores_must_succeed=false need multiple stores to be enabled.', {},
        'import.bad_request');
    }
    if (method === 'web-download') {
      const uri = typeof body.method.uri === 'string' ? body.method.uri : undefined;
      if (uri === undefined || !this.deps.fetcher || !this.deps.fetcher.allows(uri)) {
        throw badRequest('URI for web-download does not pass filtering: {uri}', { uri: uri ?? 'None' }, 'import.uri_filtered');
      }
    }
    if (stores.length === 0) return undefined; // copy-image with nothing left to copy

    let remote: RemoteImage | undefined;
    let remoteProblem: string | undefined;
    if (method === 'glance-download') {
      ({ remote, problem: remoteProblem } = await this.checkRemote(request, body));
    }
    const signature = await this.signingCertificate(ctx, image);
    const now = this.now();
    const task: Task = {
      id: this.newId(), type: 'api_image_import', status: 'pending', owner: ctx.projectId ?? image.owner ?? '',
      imageId: id, requestId: ctx.requestId, userId: ctx.userId,
      input: { ...buildImportTaskInput(id, request.body as Record<string, unknown>, stores, held, ctx.roles, remote),
        ...(signature ? { signature_certificate: signature } : {}) },
      result: null, message: '', expiresAt: null, createdAt: now, updatedAt: now, deleted: false, deletedAt: null,
    };
    await this.deps.tasks.create(task);
    if (remoteProblem !== undefined) {
      // As Glance: the request is accepted and the task fails; the image is left as it was.
      await this.deps.tasks.finish(task.id, null, { status: 'failure', result: null, message: remoteProblem,
        now: this.now(), expiresAt: this.expiry() });
      return task;
    }
    try {
      image = await this.lock(ctx, image, task, method, stores);
    } catch (error) {
      await this.deps.tasks.finish(task.id, null, { status: 'failure', result: null,
        message: 'The image import lock could not be taken.', now: this.now(), expiresAt: this.expiry() });
      throw error;
    }
    this.deps.onTaskCreated?.(task.id);
    return task;
  }

  /** A signed image's certificate, read now with the caller's token for the task to verify with (signature/recorded.ts). */
  private async signingCertificate(ctx: RequestContext, image: Image): Promise<RecordedCertificate | undefined> {
    const props = signatureProperties(image.properties);
    if (props === undefined || !this.deps.keyManager) return undefined;
    return recordCertificate(this.deps.keyManager, callerOf(ctx), props.certificateId);
  }

  /** glance-download: the remote image, checked now with the caller's token (never stored). */
  private async checkRemote(request: ImportRequest, body: ImportBody): Promise<{ remote?: RemoteImage; problem?: string }> {
    if (!this.deps.remoteGlance || !request.userToken) {
      return { problem: 'glance-download needs Keystone authentication ([paste_deploy] flavor = keystone).' };
    }
    try {
      const remote = await this.deps.remoteGlance.check({ userToken: request.userToken,
        region: String(body.method.glance_region), imageId: String(body.method.glance_image_id),
        serviceInterface: typeof body.method.glance_service_interface === 'string' ? body.method.glance_service_interface : 'public' });
      return { remote };
    } catch (error) {
      return { problem: error instanceof Error ? error.message : String(error) };
    }
  }

  private expiry(): Date {
    return new Date(this.now().getTime() + this.deps.importSettings.taskTimeToLiveHours * 3600_000);
  }

  /** Compare-and-set the lock (and importing status) onto the image, re-checking after a lost race. */
  private async lock(ctx: RequestContext, image: Image, task: Task, method: ImportMethod, stores: string[]): Promise<Image> {
    for (let attempt = 0; ; attempt++) {
      const properties: Record<string, string> = { ...image.properties, [IMPORT_PROPS.lock]: task.id };
      delete properties[IMPORT_PROPS.error];
      if (this.deps.importSettings.multiStore) {
        properties[IMPORT_PROPS.importing] = stores.join(',');
        properties[IMPORT_PROPS.failed] = '';
      }
      const status = method === 'copy-image' ? image.status : 'importing';
      try {
        return await this.deps.images.update({ ...image, status, properties, updatedAt: this.now() },
          { expectVersion: image.version, expectStatus: image.status });
      } catch (error) {
        if (!isVersionConflict(error) || attempt >= 5) throw error;
        const fresh = await this.deps.images.get(image.id);
        if (!fresh) throw imageNotFound(image.id);
        checkStatus(fresh, method);
        await this.checkLock(fresh);
        image = fresh;
        ctx.log.debug({ image_id: image.id }, 'import lock race; retrying');
      }
    }
  }

  private async checkLock(image: Image): Promise<void> {
    const holder = image.properties[IMPORT_PROPS.lock];
    if (!holder) return;
    const task = await this.deps.tasks.get(holder, this.now());
    if (!task || isFinished(task.status)) return;
    const age = this.now().getTime() - task.updatedAt.getTime();
    if (age > (task.status === 'pending' ? PENDING_STALE_MS : RUNNING_STALE_MS)) return;
    throw conflict('Image has active task', {}, 'import.locked');
  }

  /** Glance's store selection (spec/v2.md §5.4 step 7); single-store: the default store. */
  private targetStores(body: ImportBody, header: string | undefined, method: ImportMethod, held: string[]): string[] {
    const { stores } = this.deps;
    if (!this.deps.importSettings.multiStore) {
      const only = stores.default().id;
      return method === 'copy-image' && held.includes(only) ? [] : [only];
    }
    let chosen: string[];
    if (body.all_stores === true) {
      if (body.stores !== undefined || header !== undefined) {
        throw badRequest('all_stores cannot be combined with a list of stores or the X-Image-Meta-Store header.', {},
          'import.bad_request');
      }
      // As in Glance: every writable store (read-only http stores and the reserved ones are left out).
      chosen = stores.ids().filter((s) => !s.startsWith('os_glance_') && stores.get(s)?.type !== 'http');
      if (method === 'copy-image') return chosen.filter((s) => !held.includes(s));
    } else if (body.stores !== undefined) {
      if (header !== undefined) {
        throw badRequest('The stores list cannot be combined with the X-Image-Meta-Store header.', {}, 'import.bad_request');
      }
      chosen = body.stores;
    } else {
      chosen = [header ?? stores.default().id];
    }
    for (const id of chosen) {
      if (!stores.get(id)) {
        throw new DomainError('Conflict', 'store.unknown', msg('Store for identifier {id} not found', { id }));
      }
      if (method === 'copy-image' && held.includes(id)) {
        throw badRequest("Image is already present at store '{store}'", { store: id }, 'import.already_in_store');
      }
    }
    return [...new Set(chosen)];
  }

  private async transition(image: Image, from: Image['status'], next: Image): Promise<Image> {
    try {
      return await this.deps.images.update({ ...next, updatedAt: this.now() }, { expectVersion: image.version, expectStatus: from });
    } catch (error) {
      if (!isVersionConflict(error)) throw error;
      const fresh = await this.deps.images.get(image.id);
      if (!fresh) throw imageNotFound(image.id);
      throw conflict('Image status transition from {from} to {to} is not allowed', { from: fresh.status, to: next.status },
        'image.bad_transition');
    }
  }

  /** A failed stage: uploading → queued, size cleared. */
  private async unstage(ctx: RequestContext, uploading: Image): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.deps.images.get(uploading.id);
      if (!current || current.status !== 'uploading') return;
      const properties = { ...current.properties };
      delete properties[IMPORT_PROPS.stageHost];
      try {
        await this.deps.images.update({ ...current, status: 'queued', size: null, virtualSize: null, properties,
          updatedAt: this.now() }, { expectVersion: current.version, expectStatus: 'uploading' });
        return;
      } catch (error) {
        if (!isVersionConflict(error)) throw error;
      }
    }
    ctx.log.error({ image_id: uploading.id }, 'could not return a failed stage to queued');
  }
}

interface ImportBody {
  method: { name: string } & Record<string, unknown>;
  stores?: string[];
  all_stores?: boolean;
  all_stores_must_succeed?: boolean;
}

function parseBody(body: unknown, methods: string[]): ImportBody {
  if (body === undefined || body === null) throw badRequest('Body expected in request.', {}, 'import.no_body');
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Import request requires a JSON object.', {}, 'import.bad_request');
  const b = body as Record<string, unknown>;
  const method = b.method;
  if (typeof method !== 'object' || method === null || Array.isArray(method)) {
    throw badRequest("Import request requires a 'method' field.", {}, 'import.bad_request');
  }
  const name = (method as Record<string, unknown>).name;
  if (typeof name !== 'string') throw badRequest("Import request requires a 'name' field.", {}, 'import.bad_request');
  if (!methods.includes(name)) throw badRequest("Unknown import method name '{name}'.", { name }, 'import.unknown_method');
  for (const flag of ['all_stores', 'all_stores_must_succeed']) {
    if (b[flag] !== undefined && typeof b[flag] !== 'boolean') {
      throw badRequest("'{name}' must be boolean value only", { name: flag }, 'import.bad_request');
    }
  }
  if (b.stores !== undefined && (!Array.isArray(b.stores) || b.stores.some((s) => typeof s !== 'string'))) {
    throw badRequest("'stores' must be a list of store identifiers.", {}, 'import.bad_request');
  }
  return b as unknown as ImportBody;
}

/** Status preconditions (409), in Glance's order. */
function checkStatus(image: Image, method: ImportMethod): void {
  if (image.status === 'active' && method !== 'copy-image') {
    throw conflict('Image with status active cannot be target for import', {}, 'import.bad_status');
  }
  if (method === 'copy-image') {
    if (image.status !== 'active') throw conflict('Only images with status active can be targeted for copying', {}, 'import.bad_status');
    return;
  }
  if (method === 'glance-direct' && image.status !== 'uploading') {
    throw conflict("Image needs to be staged before 'glance-direct' method can be used", {}, 'import.not_staged');
  }
  if ((method === 'web-download' || method === 'glance-download') && image.status !== 'queued') {
    throw conflict("Image needs to be in 'queued' status to use the '{method}' method", { method }, 'import.bad_status');
  }
  for (const [attribute, value] of [['container_format', image.containerFormat], ['disk_format', image.diskFormat]] as const) {
    if (!value && method !== 'glance-download') {
      throw conflict("'{attribute}' needs to be set before import", { attribute }, 'import.formats_unset');
    }
  }
}
