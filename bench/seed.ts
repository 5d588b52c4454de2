// Seeds a Glimpse database with many realistic images, fast: rows made by the real row mapping
// (src/db/image-mapper.ts) from real Image entities, written with multi-row inserts in large
// transactions over the real, migrated schema. Run it while no server holds the database.
//
// The catalogue: images spread round-robin over `projects` owner projects (project-000 …), except
// that OWNER_OF_MANY (project-050) owns a fifth of them (n % 100 in 50 … 69) and the bench's caller
// (project-000) owns 5 % (n % 100 in 0 … 4, four private images and one public one in each
// hundred); Glance-like visibilities (70 % private, 10 % public, 10 % shared, 10 % community), 5 %
// still queued, the rest active with size, checksums and a file location; 4 custom properties and
// 1–2 tags each; 3 % (all public, n % 100 in 13, 23, 33) os_hidden; updated_at in another order
// than created_at. Every shared image has one accepted member, the next project (shared images
// belong to project-005, -015 … -095, so their members are -006 … -096), and the shared images
// among the first 1000 (100 of them) also have project-000, the bench's caller. So the caller sees
// its own 5 %, everybody's public images and 100 images shared with it — the same 100 in a 1k and
// a 100k catalogue, as a project's memberships do not grow with the cloud.
//
// Sized so that every list case of list-cases.ts has at least a page of matches at 1k images
// (a shorter page at 1k would be cheaper and make the larger catalogues look slower): at 1k the
// caller sees 210 images (its 50, 60 others' public, 100 shared; limit=200), 40 of them private
// (visibility=private), 30 hidden images (os_hidden=true), 50 queued (status=queued).
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../src/db/connect.ts';
import { imageColumns, locationRows, memberToRow, propertyRows, tagRows } from '../src/db/image-mapper.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { Image, Visibility } from '../src/domain/image.ts';

export const PROJECTS = 100;
export const CALLER = projectName(0);
/** Seeded images are created one second apart, ending well before the bench's own images. */
const EPOCH = Date.UTC(2020, 0, 1);
/** Rows per INSERT: 500 × 21 image columns stays far below SQLite's 32766 bound parameters. */
const ROWS = 500;
/** The shared images among the first this many also have the caller as a member. */
const CALLER_SHARES_FROM = 1000;
/** Images per transaction. */
const BATCH = 5000;

/** Owns the images n with n % 100 in 50 … 69: a fifth of the catalogue. */
export const OWNER_OF_MANY = 'project-050';
/** Images n with n % 100 in these (3 %, all public: n % 10 === 3) have os_hidden = true. */
const HIDDEN: ReadonlySet<number> = new Set([13, 23, 33]);
/** The caller owns the images n with n % 100 below this (5 %). */
const CALLER_OWNS_BELOW = 5;

function ownerOf(n: number): string {
  const slot = n % 100;
  if (slot >= 50 && slot < 70) return OWNER_OF_MANY;
  return slot < CALLER_OWNS_BELOW ? CALLER : projectName(n);
}

export function projectName(n: number): string {
  return `project-${String(n % PROJECTS).padStart(3, '0')}`;
}

function visibilityOf(n: number): Visibility {
  switch (n % 10) {
    case 3: return 'public';
    case 5: return 'shared';
    case 7: return 'community';
    default: return 'private';
  }
}

/** The n-th image of the catalogue (deterministic apart from its id). */
export function seededImage(n: number, dataDir: string): Image {
  const at = new Date(EPOCH + n * 1000);
  const queued = n % 20 === 19;
  const id = randomUUID();
  const size = 10 * 1024 * 1024 + (n % 1000) * 4096;
  const hex = (length: number) => (id.replace(/-/g, '').repeat(8)).slice(0, length);
  const distros = ['ubuntu', 'debian', 'centos', 'fedora', 'cirros'];
  return {
    id,
    name: `image-${String(n).padStart(6, '0')}`,
    status: queued ? 'queued' : 'active',
    visibility: visibilityOf(n),
    protected: n % 50 === 0,
    osHidden: HIDDEN.has(n % 100),
    owner: ownerOf(n),
    size: queued ? null : size,
    virtualSize: queued ? null : size,
    diskFormat: n % 3 === 0 ? 'qcow2' : 'raw',
    containerFormat: 'bare',
    checksum: queued ? null : hex(32),
    osHashAlgo: queued ? null : 'sha512',
    osHashValue: queued ? null : hex(128),
    minDisk: n % 4 === 0 ? 10 : 0,
    minRam: n % 8 === 0 ? 512 : 0,
    createdAt: at,
    updatedAt: new Date(at.getTime() + ((n * 7919) % 100_000) * 1000),
    deletedAt: null,
    deleted: false,
    properties: {
      // By n / 10, so that every visibility (n % 10) has every distro.
      os_distro: distros[Math.floor(n / 10) % distros.length]!,
      os_version: String(10 + (n % 14)),
      hw_disk_bus: n % 2 === 0 ? 'virtio' : 'scsi',
      description: `Seeded image ${n} for the list benchmark`,
    },
    tags: n % 3 === 0 ? ['bench', `batch-${Math.floor(n / 1000)}`] : ['bench'],
    locations: queued ? [] : [{ url: `file://${dataDir}/${id}`, metadata: { store: 'file' }, status: 'active' }],
    version: 1,
  };
}

async function insertAll<T>(rows: T[], insert: (slice: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS) await insert(rows.slice(i, i + ROWS));
}

/**
 * Adds images number `from` … `from + count - 1` of the catalogue to the database at `url`
 * (migrating it first); resolves with the ids of the caller's (project-000's) new images.
 */
export async function seedImages(url: string, dataDir: string, from: number, count: number): Promise<string[]> {
  const database = await openDatabase(url);
  const callerImages: string[] = [];
  try {
    await migrateToLatest(database);
    for (let start = from; start < from + count; start += BATCH) {
      const images: Image[] = [];
      for (let n = start; n < Math.min(start + BATCH, from + count); n++) images.push(seededImage(n, dataDir));
      for (const image of images) if (image.owner === CALLER) callerImages.push(image.id);
      await database.db.transaction().execute(async (trx) => {
        await insertAll(images.map((image) => ({ id: image.id, ...imageColumns(image), version: 1 })),
          (rows) => trx.insertInto('images').values(rows).execute());
        await insertAll(images.flatMap(propertyRows), (rows) => trx.insertInto('image_properties').values(rows).execute());
        await insertAll(images.flatMap(tagRows), (rows) => trx.insertInto('image_tags').values(rows).execute());
        await insertAll(images.flatMap(locationRows), (rows) => trx.insertInto('image_locations').values(rows).execute());
        const members = images.flatMap((image, i) => {
          if (image.visibility !== 'shared') return [];
          const projects = [projectName(Number(image.owner!.slice(-3)) + 1), ...(start + i < CALLER_SHARES_FROM ? [CALLER] : [])];
          return projects.map((memberId) => memberToRow({
            imageId: image.id, memberId, status: 'accepted', canShare: false, createdAt: image.createdAt, updatedAt: image.createdAt,
          }));
        });
        await insertAll(members, (rows) => trx.insertInto('image_members').values(rows).execute());
      });
    }
  } finally {
    await database.close();
  }
  return callerImages;
}
