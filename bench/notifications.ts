// `npm run bench:notifications` (also the last part of `npm run bench` when RabbitMQ is reachable):
// image create and small-upload rates of one Glimpse with notifications off and on (driver =
// messagingv2 to RabbitMQ through the outbox), measured in the same run, rounds alternating so the
// shared machine's load weighs on both. Issue 17's target: with notifications on, both rates within
// 10 % of off. RabbitMQ: BENCH_RABBITMQ_URL or GLIMPSE_TEST_RABBITMQ_URL (amqp://user:pass@host:port/vhost).
import { loadavg } from 'node:os';
import { ImagesClient } from './client.ts';
import { CALLER } from './seed.ts';
import { createDeployment, startGlimpse } from './server.ts';
import { cpuSeconds } from './transfer.ts';
import { removeBrokerEntities } from '../test/notifications/listener.ts';

const ROUNDS = Number(process.env.BENCH_NOTIFY_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_NOTIFY_SECONDS ?? 5);
const CONCURRENCY = 8;
const UPLOAD_BYTES = 64 * 1024;

async function rate(seconds: number, op: () => Promise<void>): Promise<number> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < until) {
      await op();
      done++;
    }
  }));
  return done / seconds;
}

interface Measured {
  creates: number;
  uploads: number;
  /** Server CPU-seconds (user + system) per 1,000 creates, and per 1,000 create+upload pairs. */
  createCpu: number;
  uploadCpu: number;
}

async function measure(extra: string[]): Promise<Measured> {
  const deployment = await createDeployment(extra);
  const server = await startGlimpse(deployment);
  const client = new ImagesClient(server.url, CALLER);
  try {
    let n = 0;
    await rate(1, async () => { await client.createImage(`warm-${n++}`, { disk_format: 'raw', container_format: 'bare' }); });
    // CPU is read after a short pause, so the relay's work for a phase counts in that phase.
    const phase = async (op: () => Promise<void>): Promise<{ rate: number; cpu: number }> => {
      const before = await cpuSeconds(server.pid);
      const started = n;
      const perSecond = await rate(SECONDS, op);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { rate: perSecond, cpu: ((await cpuSeconds(server.pid)) - before) / ((n - started) / 1000) };
    };
    const creates = await phase(async () => {
      await client.createImage(`c-${n++}`, { disk_format: 'raw', container_format: 'bare' });
    });
    const uploads = await phase(async () => {
      const id = await client.createImage(`u-${n++}`, { disk_format: 'raw', container_format: 'bare' });
      await client.upload(id, UPLOAD_BYTES);
    });
    return { creates: creates.rate, uploads: uploads.rate, createCpu: creates.cpu, uploadCpu: uploads.cpu };
  } finally {
    client.close();
    await server.stop();
    await deployment.remove();
  }
}

export async function benchNotifications(rabbitUrl: string): Promise<boolean> {
  const u = new URL(rabbitUrl);
  const topic = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const on = [
    '[DEFAULT]', `transport_url = rabbit://${u.username}:${u.password}@${u.hostname}:${u.port || 5672}/${u.pathname.slice(1)}`,
    `control_exchange = ${topic}`,
    '[oslo_messaging_notifications]', 'driver = messagingv2', `topics = ${topic}`,
  ];
  const off: Measured[] = [];
  const withNotifications: Measured[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    off.push(await measure([]));
    withNotifications.push(await measure(on));
    console.log(`  round ${round + 1} (load ${loadavg()[0]!.toFixed(2)}): off ${fmt(off.at(-1)!)}; on ${fmt(withNotifications.at(-1)!)}`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const result = (key: 'creates' | 'uploads', cpuKey: 'createCpu' | 'uploadCpu') => {
    const a = median(off.map((r) => r[key]));
    const b = median(withNotifications.map((r) => r[key]));
    const ratio = b / a;
    const cpuOff = median(off.map((r) => r[cpuKey]));
    const cpuOn = median(withNotifications.map((r) => r[cpuKey]));
    console.log(`  ${key}/s median: off ${a.toFixed(1)}, on ${b.toFixed(1)} (${(ratio * 100).toFixed(0)} % of off; target ≥ 90 %) ${ratio >= 0.9 ? 'PASS' : 'FAIL'}; `
      + `server CPU-s per 1,000: off ${cpuOff.toFixed(2)}, on ${cpuOn.toFixed(2)} (${((cpuOn / cpuOff) * 100).toFixed(0)} %)`);
    return ratio >= 0.9;
  };
  console.log(`\n== notifications off vs on (${CONCURRENCY} clients, ${SECONDS} s each, ${UPLOAD_BYTES / 1024} KiB uploads, ${ROUNDS} rounds) ==`);
  const creates = result('creates', 'createCpu');
  const uploads = result('uploads', 'uploadCpu');
  await removeBrokerEntities(rabbitUrl, topic, topic);
  return creates && uploads;
}

function fmt(r: Measured): string {
  return `${r.creates.toFixed(1)} creates/s (${r.createCpu.toFixed(2)} CPU-s/1k), ${r.uploads.toFixed(1)} uploads/s (${r.uploadCpu.toFixed(2)} CPU-s/1k)`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.BENCH_RABBITMQ_URL ?? process.env.GLIMPSE_TEST_RABBITMQ_URL;
  if (!url) {
    console.log('notifications bench skipped: set BENCH_RABBITMQ_URL or GLIMPSE_TEST_RABBITMQ_URL');
  } else {
    benchNotifications(url).then((ok) => process.exit(ok ? 0 : 1), (error: unknown) => { console.error(error); process.exit(1); });
  }
}
