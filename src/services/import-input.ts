// The input of an `api_image_import` task as stored (Glance's shape: image_id, import_req —
// the POST /import body as given —, backend — the resolved target stores) plus what Glimpse's
// runner needs to be restartable on any node: the stores that held a copy-image source before
// the import, and the caller's roles (for plugins that depend on them).
import { parseRecordedCertificate, type RecordedCertificate } from '../signature/recorded.ts';
import type { Task } from '../domain/task.ts';
import type { ImportMethod } from '../domain/import.ts';
import type { RemoteImage } from '../ports/fetch.ts';

export interface ImportInput {
  imageId: string;
  method: ImportMethod;
  uri?: string;
  glanceRegion?: string;
  glanceImageId?: string;
  glanceServiceInterface: string;
  stores: string[];
  heldBefore: string[];
  allStoresMustSucceed: boolean;
  roles: string[];
  /** glance-download: the remote image as checked at request time. */
  remote?: RemoteImage;
  /** A signed image's certificate as the key manager gave it at request time. */
  signatureCertificate?: RecordedCertificate;
  /**
   * The legacy `import` task (POST /v2/tasks). As Glance's base_import flow, which writes with
   * set_data and no backend: image.prepare names no backend, and the multi-store progress
   * properties (os_glance_importing_to_stores / os_glance_failed_import) are left alone.
   */
  legacyTask?: boolean;
}

export function buildImportTaskInput(imageId: string, importReq: Record<string, unknown>, stores: string[],
  heldBefore: string[], roles: string[], remote?: RemoteImage): Record<string, unknown> {
  return { image_id: imageId, import_req: importReq, backend: stores, held_stores: heldBefore, roles,
    ...(remote ? { remote_image: { endpoint: remote.endpoint, disk_format: remote.diskFormat,
      container_format: remote.containerFormat, properties: remote.properties } } : {}) };
}

/** The keys Glimpse's runner adds to an api_image_import input; Glance's input has none of them. */
const internalInputKeys = ['held_stores', 'roles', 'remote_image', 'signature_certificate'];

/** A task's input as clients see it: an api_image_import task's without Glimpse's internal keys. */
export function publicTaskInput(task: Pick<Task, 'type' | 'input'>): Record<string, unknown> | null {
  if (task.input === null || task.type !== 'api_image_import') return task.input;
  return Object.fromEntries(Object.entries(task.input).filter(([key]) => !internalInputKeys.includes(key)));
}

const strings = (value: unknown): string[] => Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

export function importInput(task: Task): ImportInput {
  const input = task.input ?? {};
  const req = (input.import_req ?? {}) as Record<string, unknown>;
  const method = (req.method ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string' ? v : undefined;
  return {
    imageId: String(input.image_id ?? task.imageId),
    method: String(method.name) as ImportMethod,
    uri: text(method.uri),
    glanceRegion: text(method.glance_region),
    glanceImageId: text(method.glance_image_id),
    glanceServiceInterface: text(method.glance_service_interface) ?? 'public',
    stores: strings(input.backend),
    heldBefore: strings(input.held_stores),
    allStoresMustSucceed: req.all_stores_must_succeed !== false,
    roles: strings(input.roles),
    remote: remoteOf(input.remote_image),
    signatureCertificate: parseRecordedCertificate(input.signature_certificate),
  };
}

function remoteOf(value: unknown): RemoteImage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string' ? v : null;
  return { endpoint: String(r.endpoint), diskFormat: text(r.disk_format), containerFormat: text(r.container_format),
    properties: (typeof r.properties === 'object' && r.properties !== null ? r.properties : {}) as Record<string, string> };
}
