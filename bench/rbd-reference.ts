// The reference for the rbd store's throughput: Ceph's own `rbd import` / `rbd export` moving the
// same number of bytes through stdin/stdout on the same cluster (CEPH_CONF, CEPH_USER, CEPH_POOL as
// scripts/ceph.sh prints them), with the object size of glance_store's default chunk (8 MiB). The
// bytes come from and go to this process, as the API client's do.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const MiB = 2 ** 20;

function rbd(args: string[], stdin?: { size: number }, stdout?: 'count'): Promise<number> {
  const env = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn('rbd', ['-c', env.CEPH_CONF!, '--id', env.CEPH_USER!, '--no-progress', ...args],
      { stdio: [stdin ? 'pipe' : 'ignore', stdout ? 'pipe' : 'ignore', 'pipe'] });
    let err = '';
    let counted = 0;
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => { counted += d.length; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(counted) : reject(new Error(`rbd ${args[0]} failed (${code}): ${err.trim()}`))));
    if (stdin) {
      const block = randomBytes(MiB);
      let sent = 0;
      const pump = () => {
        while (sent < stdin.size) {
          const n = Math.min(MiB, stdin.size - sent);
          sent += n;
          if (!child.stdin!.write(n === MiB ? block : block.subarray(0, n))) return void child.stdin!.once('drain', pump);
        }
        child.stdin!.end();
      };
      pump();
    }
  });
}

export interface RbdReference { importMiBps: number; exportMiBps: number }

/** Median MiB/s of `rounds` imports and exports of `size` bytes. */
export async function rbdReference(size: number, rounds: number): Promise<RbdReference> {
  const pool = process.env.CEPH_POOL!;
  const imports: number[] = [];
  const exports: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `glimpse-bench-ref-${randomBytes(4).toString('hex')}`;
    try {
      let t = performance.now();
      await rbd(['import', '--object-size', '8M', '-', `${pool}/${name}`], { size });
      imports.push(size / MiB / ((performance.now() - t) / 1000));
      t = performance.now();
      const got = await rbd(['export', `${pool}/${name}`, '-'], undefined, 'count');
      exports.push(size / MiB / ((performance.now() - t) / 1000));
      if (got !== size) throw new Error(`rbd export gave ${got} bytes, expected ${size}`);
    } finally {
      await rbd(['rm', `${pool}/${name}`]).catch(() => undefined);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return { importMiBps: median(imports), exportMiBps: median(exports) };
}
