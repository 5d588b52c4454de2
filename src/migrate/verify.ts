// `--verify`: asks Glimpse's own API (the real application, composed in this process and called
// with inject(), never listening) about every migrated image and compares the answers with what
// the Glance database holds; optionally downloads a sample of images and checks their hashes, which
// reads the data through Glimpse's configured stores.
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import type { GlimpseConfig } from '../config/types.ts';
import { compose } from '../main.ts';
import type { GlanceImage } from './glance-model.ts';
import { readImageBatch, type GlanceSource } from './glance-reader.ts';
import { carriedLocations } from './locations.ts';
import type { Progress } from './progress.ts';
import type { MigrationReport } from './report.ts';

type Json = Record<string, unknown>;

const ADMIN = {
  'x-identity-status': 'Confirmed', 'x-tenant-id': 'glimpse-migrate-verify', 'x-user-id': 'glimpse-migrate-verify',
  'x-roles': 'admin,member,reader',
};

const seconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/** What Glance's API answers for this image's core attributes, from its database row. */
function expectedAttributes(image: GlanceImage): Json {
  return {
    id: image.id, name: image.name, status: image.status, visibility: image.visibility, protected: image.protected,
    os_hidden: image.osHidden, owner: image.owner, size: image.size, virtual_size: image.virtualSize,
    checksum: image.checksum, os_hash_algo: image.osHashAlgo, os_hash_value: image.osHashValue,
    min_ram: image.minRam, min_disk: image.minDisk, disk_format: image.diskFormat,
    container_format: image.containerFormat, created_at: seconds(image.createdAt), updated_at: seconds(image.updatedAt),
  };
}

export function compareImage(image: GlanceImage, body: Json, showLocations: boolean): string[] {
  const out: string[] = [];
  for (const [key, want] of Object.entries(expectedAttributes(image))) {
    if (JSON.stringify(body[key] ?? null) !== JSON.stringify(want)) {
      out.push(`${key}: Glimpse answers ${JSON.stringify(body[key])}, Glance has ${JSON.stringify(want)}`);
    }
  }
  const tags = Array.isArray(body['tags']) ? [...(body['tags'] as string[])].sort() : [];
  if (JSON.stringify(tags) !== JSON.stringify([...image.tags].sort())) out.push(`tags: ${JSON.stringify(tags)} ≠ ${JSON.stringify(image.tags)}`);
  for (const [name, value] of Object.entries(image.properties)) {
    if (body[name] !== value) out.push(`property ${name}: Glimpse answers ${JSON.stringify(body[name])}, Glance has ${JSON.stringify(value)}`);
  }
  if (showLocations) {
    const want = carriedLocations(image).carried.filter((l) => l.status === 'active').map((l) => l.url);
    const got = Array.isArray(body['locations']) ? (body['locations'] as Json[]).map((l) => String(l['url'])) : [];
    if (JSON.stringify([...got].sort()) !== JSON.stringify([...want].sort())) {
      out.push(`locations: Glimpse answers ${got.length}, Glance has ${want.length} (${want.join(', ')})`);
    }
  }
  return out;
}

export interface VerifyOptions {
  since?: Date;
  batchSize: number;
  /** How many active images to download and hash (0 = none). */
  sample: number;
  progress: Progress;
  total: number;
}

export async function verifyThroughApi(source: GlanceSource, config: GlimpseConfig, report: MigrationReport,
  options: VerifyOptions): Promise<void> {
  // The same application as `glimpse serve` builds, with trusted headers so this process can ask as admin.
  const composed = await compose({ ...config, auth: { ...config.auth, flavor: 'trusted-auth', allowAnonymousAccess: false } },
    pino({ level: 'silent' }), { migrate: false, worker: false });
  const phase = options.progress.phase('verify', options.total);
  let sampled = 0;
  try {
    let afterId: string | undefined;
    for (;;) {
      const batch = await readImageBatch(source, { afterId, limit: options.batchSize, since: options.since });
      if (batch.length === 0) break;
      afterId = batch[batch.length - 1]!.id;
      for (const image of batch) {
        const differences = await verifyOne(composed.app, image, config.showMultipleLocations);
        if (options.sample > sampled && image.status === 'active' && image.checksum !== null && image.size) {
          sampled++;
          differences.push(...await verifyData(composed.app, image));
          report.dataChecked++;
        }
        for (const what of differences) report.verifyDifferences.push({ imageId: image.id, what });
        report.verified++;
      }
      phase.advance(batch.length);
    }
  } finally {
    phase.done();
    await composed.close();
  }
}

type App = Awaited<ReturnType<typeof compose>>['app'];

async function verifyOne(app: App, image: GlanceImage, showLocations: boolean): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: `/v2/images/${image.id}`, headers: ADMIN });
  if (image.deleted) return res.statusCode === 404 ? [] : [`deleted in Glance, but Glimpse answers ${res.statusCode}`];
  if (res.statusCode !== 200) return [`Glimpse answers ${res.statusCode} for the image`];
  const out = compareImage(image, res.json<Json>(), showLocations);
  if (image.visibility === 'shared') {
    const members = await app.inject({ method: 'GET', url: `/v2/images/${image.id}/members`, headers: ADMIN });
    const got = members.statusCode === 200
      ? (members.json<{ members: Json[] }>().members).map((m) => `${String(m['member_id'])}:${String(m['status'])}`).sort() : [];
    const want = image.members.filter((m) => !m.deleted).map((m) => `${m.member}:${m.status}`).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`members: Glimpse answers ${got.join(', ') || 'none'}, Glance has ${want.join(', ') || 'none'}`);
  }
  return out;
}

async function verifyData(app: App, image: GlanceImage): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: `/v2/images/${image.id}/file`, headers: ADMIN, payloadAsStream: true });
  const md5 = createHash('md5');
  const other = image.osHashAlgo && image.osHashValue ? createHash(image.osHashAlgo) : undefined;
  for await (const chunk of res.stream()) {
    md5.update(chunk as Buffer);
    other?.update(chunk as Buffer);
  }
  if (res.statusCode !== 200) return [`download answers ${res.statusCode}`];
  const out: string[] = [];
  if (md5.digest('hex') !== image.checksum) out.push('downloaded data does not match the checksum');
  if (other && other.digest('hex') !== image.osHashValue) out.push(`downloaded data does not match os_hash_value (${image.osHashAlgo})`);
  return out;
}
