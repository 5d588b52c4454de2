// `npm run bench:upload`: the upload measurement of `npm run bench` alone, for comparing variants
// (entry point, node flags, code changes) without seeding catalogues. Starts a fresh server, then per
// round: hashing-ceiling sample, create an image, reset VmHWM, upload BENCH_SIZE_MB (default 256) MiB,
// read VmHWM and the server's CPU time, delete the image. Prints each round and the medians.
// GLIMPSE_BENCH_ENTRY / GLIMPSE_BENCH_NODE_ARGS / GLIMPSE_BENCH_DIR work as for `npm run bench`.
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

import { ImagesClient } from './client.ts';
import { hashCeiling } from './hash.ts';
import { median } from './measure.ts';
import { CALLER } from './seed.ts';
import { createDeployment, resetPeak, startGlimpse } from './server.ts';
import { benchSigner } from './signing.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_SIZE_MB ?? 256);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

/** User + system CPU seconds of a process so far (/proc/<pid>/stat, clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds per thread name (/proc/<pid>/task/*): main loop, hash worker, libuv pool, GC, … */
async function threadSeconds(pid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    const open = stat.indexOf('('), close = stat.lastIndexOf(')');
    if (open < 0 || close < 0) continue;
    const name = tid === String(pid) ? 'main' : `${stat.slice(open + 1, close)}/${tid}`;
    const fields = stat.slice(close + 2).split(' ');
    byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    if (process.env.BENCH_SYS) byName.set(`${name}(sys)`, Number(fields[12]) / 100);
  }
  return byName;
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
async function machineBusySeconds(): Promise<number> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return (total - cpu[3]! - cpu[4]!) / 100;
}

// BENCH_SIGNED=1: signed images (RSA-PSS / SHA-256), verified by the server (bench/signing.ts).
// BENCH_SIGNED=both: each round uploads one unsigned and one signed image to the same server (order
// alternating per round), and the medians of both and their ratio are printed: the side-by-side figure.
const signedMode = process.env.BENCH_SIGNED === 'both' ? 'both' : process.env.BENCH_SIGNED === '1' ? 'signed' : 'unsigned';
const signer = signedMode !== 'unsigned' ? await benchSigner(await mkdtemp(join(tmpdir(), 'glimpse-bench-sign-'))) : undefined;
const deployment = await createDeployment(signer?.config);
const server = await startGlimpse(deployment);
const client = new ImagesClient(server.url, CALLER);
if (signer) client.headers['x-auth-token'] = 'bench-token';
const signature = signer?.properties(sizeMiB * MiB);
type Variant = 'unsigned' | 'signed';
const rows: Array<{ variant: Variant; rate: number; ceiling: number; hwm: number; cpu: number }> = [];
/** The variants of round i: one, or both with the order alternating. */
const variantsOf = (i: number): Variant[] => signedMode === 'both' ? (i % 2 === 0 ? ['unsigned', 'signed'] : ['signed', 'unsigned'])
  : [signedMode];
try {
  console.log(`upload ${sizeMiB} MiB × ${rounds}${signedMode === 'unsigned' ? '' : signedMode === 'signed' ? ', signed (RSA-PSS/SHA-256, verified)'
    : ', unsigned and signed (RSA-PSS/SHA-256, verified) interleaved'}; server pid ${server.pid}, idle RSS ${(await server.memory()).rss / 1e6 | 0} MB`);
  for (let i = 0; i < rounds; i++) for (const variant of variantsOf(i)) {
    const ceiling = hashCeiling(Math.min(sizeMiB, 512), 1).samples[0]!;
    const id = await client.createImage(`bench-upload-${i}`, variant === 'signed' ? signature : undefined);
    await resetPeak(server.pid);
    const cpu = await cpuSeconds(server.pid);
    const threadsBefore = await threadSeconds(server.pid);
    const machineBefore = await machineBusySeconds();
    const clientBefore = process.cpuUsage();
    const seconds = await client.upload(id, sizeMiB * MiB);
    const clientUsage = process.cpuUsage(clientBefore);
    const machine = ((await machineBusySeconds() - machineBefore) / sizeMiB) * 1024;
    const clientCpu = ((clientUsage.user + clientUsage.system) / 1e6 / sizeMiB) * 1024;
    const used = await cpuSeconds(server.pid) - cpu;
    const threads = [...await threadSeconds(server.pid)]
      .map(([name, s]) => [name, ((s - (threadsBefore.get(name) ?? 0)) / sizeMiB) * 1024] as const)
      .filter(([, s]) => s >= 0.05).sort((a, b) => b[1] - a[1]);
    const { hwm } = await server.memory();
    await client.deleteImage(id);
    const row = { variant, rate: sizeMiB / seconds, ceiling, hwm, cpu: (used / sizeMiB) * 1024 };
    rows.push(row);
    console.log(`  round ${i + 1}${signedMode === 'both' ? ` ${variant}` : ''}: ${row.rate.toFixed(0)} MiB/s (ceiling ${ceiling.toFixed(0)}, ${((row.rate / ceiling) * 100).toFixed(0)} %), `
      + `peak RSS ${(hwm / 1e6).toFixed(0)} MB, server CPU ${row.cpu.toFixed(2)} s/GiB`);
    console.log(`    CPU s/GiB: machine ${machine.toFixed(2)} (of ${((availableParallelism() * seconds / sizeMiB) * 1024).toFixed(2)} on ${availableParallelism()} cores), `
      + `bench client ${clientCpu.toFixed(2)}; server by thread: ${threads.map(([name, s]) => `${name} ${s.toFixed(2)}`).join(', ')}`);
  }
  const medians = new Map<Variant, { rate: number; share: number; cpu: number }>();
  for (const variant of new Set(rows.map((r) => r.variant))) {
    const some = rows.filter((r) => r.variant === variant);
    const m = (f: (r: typeof rows[number]) => number) => median(some.map(f));
    medians.set(variant, { rate: m((r) => r.rate), share: m((r) => r.rate / r.ceiling), cpu: m((r) => r.cpu) });
    console.log(`median${signedMode === 'both' ? ` ${variant}` : ''}: ${m((r) => r.rate).toFixed(0)} MiB/s, ${(m((r) => r.rate / r.ceiling) * 100).toFixed(0)} % of ceiling, `
      + `peak RSS ${(m((r) => r.hwm) / 1e6).toFixed(0)} MB, server CPU ${m((r) => r.cpu).toFixed(2)} s/GiB`);
  }
  const [plain, signed] = [medians.get('unsigned'), medians.get('signed')];
  if (plain && signed) {
    const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)} %`;
    console.log(`signed vs unsigned: rate ${pct(signed.rate, plain.rate)}, ceiling share ${pct(signed.share, plain.share)}, `
      + `server CPU ${pct(signed.cpu, plain.cpu)}`);
  }
} finally {
  client.close();
  await server.stop();
  await deployment.remove();
  signer?.close();
}
