// Writes one batch of Glance images (with properties, tags, locations and members) into Glimpse's
// database, in one transaction, idempotently:
//   - an image Glimpse lacks is inserted with Glance's id, timestamps and state (version 1);
//   - one whose stored state equals Glance's is left alone (a rerun writes nothing);
//   - one that differs is replaced (version + 1, children rewritten) — unless Glimpse's copy was
//     updated after Glance's (someone changed it through Glimpse after the cut-over): then it is
//     skipped and reported, never overwritten with older data.
// Members are reconciled one by one with the same newer-wins rule; a membership Glance deleted is
// removed from Glimpse. Deleted images are carried as deleted rows without children, so their ids
// can never be reused (OSSN-0075).
import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import { imageStatuses, visibilities } from '../domain/image.ts';
import type { Database } from '../db/connect.ts';
import type {
  ImageLocationsTable, ImageMembersTable, ImagesTable, Schema,
} from '../db/schema.ts';
import type { StoreRegistry } from '../stores/registry.ts';
import type { GlanceImage, GlanceMember } from './glance-model.ts';
import { carriedLocations, mapLocation, type CarriedLocation } from './locations.ts';
import type { MigrationReport } from './report.ts';
import { canonicalJson, flag, millis, nullableInteger } from './values.ts';

type Db = Kysely<Schema> | Transaction<Schema>;
type ImageColumns = Omit<Insertable<ImagesTable>, 'version'>;

const NEWER = 'changed in Glimpse after Glance last changed it (Glimpse\'s copy kept)';
const MEMBER_STATUSES = new Set(['pending', 'accepted', 'rejected']);

interface Target {
  columns: ImageColumns;
  properties: Record<string, string | null>;
  tags: string[];
  locations: CarriedLocation[];
}

interface Current {
  row: Selectable<ImagesTable>;
  properties: Record<string, string | null>;
  tags: string[];
  locations: Selectable<ImageLocationsTable>[];
}

function target(image: GlanceImage, registry: StoreRegistry, multiStore: boolean): Target {
  return {
    columns: {
      id: image.id, name: image.name, status: image.status, visibility: image.visibility, protected: image.protected,
      os_hidden: image.osHidden, owner: image.owner, size: image.size, virtual_size: image.virtualSize,
      disk_format: image.diskFormat, container_format: image.containerFormat, checksum: image.checksum,
      os_hash_algo: image.osHashAlgo, os_hash_value: image.osHashValue, min_disk: image.minDisk, min_ram: image.minRam,
      created_at: image.createdAt, updated_at: image.updatedAt, deleted_at: image.deletedAt, deleted: image.deleted,
    },
    properties: image.deleted ? {} : image.properties,
    tags: image.deleted ? [] : image.tags,
    locations: carriedLocations(image).carried.map((l) => mapLocation(l, registry, multiStore)),
  };
}

/** One comparable string for an image's state, whichever side it comes from. */
function signature(columns: Record<string, unknown>, properties: Record<string, string | null>, tags: string[],
  locations: { url: string; metadata: unknown; status: string }[]): string {
  const c = columns;
  return canonicalJson({
    name: c['name'], status: c['status'], visibility: c['visibility'], protected: flag(c['protected']),
    os_hidden: flag(c['os_hidden']), owner: c['owner'], size: nullableInteger(c['size']),
    virtual_size: nullableInteger(c['virtual_size']), disk_format: c['disk_format'],
    container_format: c['container_format'], checksum: c['checksum'], os_hash_algo: c['os_hash_algo'],
    os_hash_value: c['os_hash_value'], min_disk: Number(c['min_disk']), min_ram: Number(c['min_ram']),
    created_at: millis(c['created_at'] as Date), updated_at: millis(c['updated_at'] as Date),
    deleted_at: millis(c['deleted_at'] as Date | null), deleted: flag(c['deleted']),
    properties, tags: [...tags].sort(), locations: locations.map((l) => [l.url, l.metadata, l.status]),
  });
}

function targetSignature(t: Target): string {
  return signature(t.columns as Record<string, unknown>, t.properties, t.tags, t.locations);
}

function currentSignature(c: Current): string {
  return signature(c.row as Record<string, unknown>, c.properties, c.tags, [...c.locations]
    .sort((a, b) => a.position - b.position)
    .map((l) => ({ url: l.value, metadata: JSON.parse(l.meta_data) as unknown, status: l.status })));
}

async function loadCurrent(db: Db, ids: string[]): Promise<Map<string, Current>> {
  const out = new Map<string, Current>();
  if (ids.length === 0) return out;
  for (const row of await db.selectFrom('images').selectAll().where('id', 'in', ids).execute()) {
    out.set(row.id, { row, properties: {}, tags: [], locations: [] });
  }
  for (const p of await db.selectFrom('image_properties').selectAll().where('image_id', 'in', ids).execute()) {
    out.get(p.image_id)!.properties[p.name] = p.value;
  }
  for (const t of await db.selectFrom('image_tags').selectAll().where('image_id', 'in', ids).execute()) {
    out.get(t.image_id)!.tags.push(t.value);
  }
  for (const l of await db.selectFrom('image_locations').selectAll().where('image_id', 'in', ids).execute()) {
    out.get(l.image_id)!.locations.push(l);
  }
  return out;
}

async function writeChildren(db: Db, id: string, t: Target): Promise<void> {
  const properties = Object.entries(t.properties).map(([name, value]) => ({ image_id: id, name, value }));
  if (properties.length) await db.insertInto('image_properties').values(properties).execute();
  if (t.tags.length) await db.insertInto('image_tags').values(t.tags.map((value) => ({ image_id: id, value }))).execute();
  const locations: Insertable<ImageLocationsTable>[] = t.locations.map((l, position) => ({
    image_id: id, position, value: l.url, meta_data: JSON.stringify(l.metadata), status: l.status,
    created_at: l.createdAt, updated_at: l.updatedAt,
  }));
  if (locations.length) await db.insertInto('image_locations').values(locations).execute();
}

/** Counts child rows as the set difference between what Glimpse had and what it gets. */
function countChildren(report: MigrationReport, before: Current | undefined, t: Target): void {
  const diff = (table: 'image_properties' | 'image_tags' | 'image_locations', old: Map<string, string>, now: Map<string, string>) => {
    for (const [key, value] of now) {
      if (!old.has(key)) report.count(table, 'inserted');
      else report.count(table, old.get(key) === value ? 'unchanged' : 'updated');
    }
    for (const key of old.keys()) if (!now.has(key)) report.count(table, 'removed');
  };
  const props = (p: Record<string, string | null>) => new Map(Object.entries(p).map(([k, v]) => [k, String(v)]));
  diff('image_properties', props(before?.properties ?? {}), props(t.properties));
  diff('image_tags', new Map((before?.tags ?? []).map((v) => [v, ''])), new Map(t.tags.map((v) => [v, ''])));
  diff('image_locations',
    new Map((before?.locations ?? []).map((l) => [l.value, canonicalJson([JSON.parse(l.meta_data), l.status])])),
    new Map(t.locations.map((l) => [l.url, canonicalJson([l.metadata, l.status])])));
}

function skipChildren(report: MigrationReport, t: Target, reason: string): void {
  report.skip('image_properties', reason, Object.keys(t.properties).length);
  report.skip('image_tags', reason, t.tags.length);
  report.skip('image_locations', reason, t.locations.length);
}

function invalid(image: GlanceImage): string | undefined {
  if (!(imageStatuses as readonly string[]).includes(image.status)) return `status "${image.status}" is not an image status Glimpse knows`;
  if (!(visibilities as readonly string[]).includes(image.visibility)) return `visibility "${image.visibility}" is unknown`;
  return undefined;
}

type MemberRow = Selectable<ImageMembersTable>;

/** Glimpse's members of a batch of images, by image id then member (one query a batch). */
async function loadMembers(db: Db, ids: string[]): Promise<Map<string, Map<string, MemberRow>>> {
  const out = new Map<string, Map<string, MemberRow>>(ids.map((id) => [id, new Map()]));
  if (ids.length === 0) return out;
  for (const m of await db.selectFrom('image_members').selectAll().where('image_id', 'in', ids).execute()) {
    out.get(m.image_id)?.set(m.member, m);
  }
  return out;
}

async function syncMembers(db: Db, report: MigrationReport, image: GlanceImage, existing: Map<string, MemberRow>,
  write: boolean): Promise<void> {
  const live = new Map<string, GlanceMember>();
  const gone = new Map<string, GlanceMember>();
  for (const m of image.members) {
    report.count('image_members', 'read');
    if (!m.deleted) live.set(m.member, m);
    else if (!gone.has(m.member) || (m.deletedAt ?? m.updatedAt) > (gone.get(m.member)!.deletedAt ?? gone.get(m.member)!.updatedAt)) {
      gone.set(m.member, m);
    }
  }
  for (const [member, m] of gone) {
    const had = existing.get(member);
    if (live.has(member)) { report.skip('image_members', 'deleted in Glance (superseded by a newer membership)'); continue; }
    if (!had) { report.skip('image_members', 'deleted in Glance'); continue; }
    if ((millis(had.updated_at) ?? 0) > (m.deletedAt ?? m.updatedAt).getTime()) { report.skip('image_members', NEWER); continue; }
    if (write) await db.deleteFrom('image_members').where('image_id', '=', image.id).where('member', '=', member).execute();
    report.count('image_members', 'removed');
  }
  for (const [member, m] of live) {
    if (!MEMBER_STATUSES.has(m.status)) { report.skip('image_members', `status "${m.status}" is unknown`); continue; }
    const row: Insertable<ImageMembersTable> = {
      image_id: image.id, member, status: m.status, can_share: m.canShare, created_at: m.createdAt, updated_at: m.updatedAt,
    };
    const had = existing.get(member);
    if (!had) {
      if (write) await db.insertInto('image_members').values(row).execute();
      report.count('image_members', 'inserted');
    } else if (had.status === m.status && flag(had.can_share) === m.canShare
      && millis(had.created_at) === m.createdAt.getTime() && millis(had.updated_at) === m.updatedAt.getTime()) {
      report.count('image_members', 'unchanged');
    } else if ((millis(had.updated_at) ?? 0) > m.updatedAt.getTime()) {
      report.skip('image_members', NEWER);
    } else {
      if (write) {
        await db.updateTable('image_members').set(row).where('image_id', '=', image.id).where('member', '=', member).execute();
      }
      report.count('image_members', 'updated');
    }
  }
}

export interface SyncOptions {
  registry: StoreRegistry;
  multiStore: boolean;
  /** false = dry run: compare and count, write nothing. */
  write: boolean;
}

/** Brings one batch over; one transaction, so an interrupted run leaves whole batches only. */
export async function syncImageBatch(glimpse: Database, images: GlanceImage[], report: MigrationReport,
  options: SyncOptions): Promise<void> {
  const run = async (db: Db) => {
    const current = await loadCurrent(db, images.map((i) => i.id));
    const members = await loadMembers(db, images.map((i) => i.id));
    for (const image of images) {
      report.count('images', 'read');
      const t = target(image, options.registry, options.multiStore);
      report.count('image_properties', 'read', Object.keys(image.properties).length);
      report.count('image_tags', 'read', image.tags.length);
      report.count('image_locations', 'read', image.locations.length);
      const dropped = carriedLocations(image).dropped.length;
      if (dropped) report.skip('image_locations', 'deleted in Glance (its data was removed)', dropped);
      const bad = invalid(image);
      if (bad) {
        report.skip('images', bad);
        skipChildren(report, t, `image skipped: ${bad}`);
        report.count('image_members', 'read', image.members.length);
        report.skip('image_members', `image skipped: ${bad}`, image.members.length);
        continue;
      }
      const before = current.get(image.id);
      if (before && currentSignature(before) === targetSignature(t)) {
        report.count('images', 'unchanged');
        countChildren(report, before, t);
      } else if (before && (millis(before.row.updated_at) ?? 0) > image.updatedAt.getTime()) {
        report.skip('images', NEWER);
        skipChildren(report, t, NEWER);
      } else {
        if (options.write) {
          if (before) {
            await db.updateTable('images').set({ ...t.columns, version: (eb) => eb('version', '+', 1) })
              .where('id', '=', image.id).execute();
            for (const table of ['image_properties', 'image_tags', 'image_locations'] as const) {
              await db.deleteFrom(table).where('image_id', '=', image.id).execute();
            }
          } else {
            await db.insertInto('images').values({ ...t.columns, version: 1 }).execute();
          }
          await writeChildren(db, image.id, t);
        }
        report.count('images', before ? 'updated' : 'inserted');
        countChildren(report, before, t);
      }
      await syncMembers(db, report, image, members.get(image.id)!, options.write);
    }
  };
  if (options.write) {
    await glimpse.db.transaction().execute(async (trx) => {
      await run(trx);
      // Image counts of unified limits (migration 0014): recounted by the next create of each project.
      await trx.updateTable('quota_projects').set({ images: null }).execute();
    });
  }
  else await run(glimpse.db);
}
