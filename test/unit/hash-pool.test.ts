// Hashing in worker threads (src/lib/hash-pool.ts): digests equal node:crypto's, the ring pushes
// back when the worker lags, lanes share and spread over the workers, and nothing leaks on failure.
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { HashPool, type HashLane } from '../../src/lib/hash-pool.ts';

const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');
const pools: HashPool[] = [];
const pool = (options?: ConstructorParameters<typeof HashPool>[0]) => {
  const p = new HashPool(options);
  pools.push(p);
  return p;
};
after(async () => { await Promise.all(pools.map((p) => p.close())); });

/** Feeds `data` in chunks of varying size, waiting whenever the lane asks to. */
async function feed(lane: HashLane, data: Buffer, chunk = 7000): Promise<number> {
  let waits = 0;
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(data.length - at, 1 + ((chunk * ((i % 3) + 1)) >> 1));
    const wait = lane.update(data.subarray(at, at + n));
    at += n;
    if (wait) {
      waits++;
      await wait;
    }
  }
  return waits;
}

test('a lane computes every digest of the data in one pass, across block and chunk boundaries', async () => {
  const data = randomBytes(300_123);
  for (const options of [{}, { blockSize: 1000, blocks: 2 }, { blockSize: 65_536, blocks: 3 }]) {
    const lane = pool(options).lane(['md5', 'sha512', 'sha3-256', 'md5']);
    await feed(lane, data);
    const digests = await lane.digest();
    assert.deepEqual(Object.keys(digests).sort(), ['md5', 'sha3-256', 'sha512']);
    assert.equal(digests.md5, hex('md5', data));
    assert.equal(digests.sha512, hex('sha512', data));
    assert.equal(digests['sha3-256'], hex('sha3-256', data));
  }
  const empty = pool().lane(['md5']);
  assert.deepEqual(await empty.digest(), { md5: 'd41d8cd98f00b204e9800998ecf8427e' });
});

test('a full ring makes update() wait: memory per lane stays blocks × blockSize', async () => {
  const lane = pool({ blockSize: 16, blocks: 2 }).lane(['sha512']);
  assert.equal(lane.update(Buffer.alloc(15, 1)), undefined, 'room left: no wait');
  const wait = lane.update(Buffer.alloc(64, 1));
  assert.ok(wait instanceof Promise, 'ring full: the caller must wait');
  await wait;
  const waits = await feed(lane, randomBytes(10_000), 100);
  assert.ok(waits > 0);
  assert.equal((await lane.digest()).sha512!.length, 128);
});

test('lanes spread over at most maxWorkers workers, which stop when idle and start again', async () => {
  const p = pool({ maxWorkers: 2, idleMs: 50 });
  const inputs = Array.from({ length: 5 }, (_, i) => randomBytes(50_000 + i));
  const lanes = inputs.map(() => p.lane(['md5', 'sha256']));
  assert.equal(p.size, 2);
  assert.equal(p.lanes, 5);
  const results = await Promise.all(lanes.map(async (lane, i) => {
    await feed(lane, inputs[i]!);
    return lane.digest();
  }));
  results.forEach((d, i) => {
    assert.equal(d.md5, hex('md5', inputs[i]!));
    assert.equal(d.sha256, hex('sha256', inputs[i]!));
  });
  assert.equal(p.lanes, 0);
  await sleep(200);
  assert.equal(p.size, 0, 'idle workers stopped');
  const again = p.lane(['md5']);
  assert.equal(p.size, 1);
  again.update(Buffer.from('abc'));
  assert.equal((await again.digest()).md5, hex('md5', Buffer.from('abc')));
});

test('an unknown algorithm fails at once, before any worker starts', () => {
  const p = pool();
  assert.throws(() => p.lane(['md5', 'no-such-hash']), /Digest method not supported|Invalid digest/i);
  assert.equal(p.size, 0);
});

test('close() releases the lane; a closed pool fails its open lanes and refuses new ones', async () => {
  const p = pool({ maxWorkers: 1 });
  const closed = p.lane(['md5']);
  closed.update(Buffer.alloc(100));
  closed.close();
  assert.equal(p.lanes, 0);
  await assert.rejects(closed.digest(), /closed/);
  await assert.rejects(closed.update(Buffer.alloc(1))!, /closed/);

  const open = p.lane(['sha512']);
  const wait = feed(open, randomBytes(1_000_000));
  await p.close();
  await assert.rejects(async () => { await wait; await open.digest(); }, /closed/);
  assert.throws(() => p.lane(['md5']), /closed/);
  assert.equal(p.size, 0);
});

test('digest() twice or update() after digest() is a programming error', async () => {
  const lane = pool().lane(['md5']);
  const first = lane.digest();
  await assert.rejects(lane.digest(), /twice/);
  await assert.rejects(lane.update(Buffer.alloc(1))!, /after digest/);
  assert.equal((await first).md5, 'd41d8cd98f00b204e9800998ecf8427e');
});

test('rings are reused: a finished or failed lane hands its shared memory to the next lane (at most maxIdleRings kept)', async () => {
  const p = pool({ maxWorkers: 1, blockSize: 4096, blocks: 2, maxIdleRings: 1 });
  const data = randomBytes(50_000);
  const first = p.lane(['md5']);
  await feed(first, data);
  assert.equal((await first.digest()).md5, hex('md5', data));
  assert.equal(p.idleRingCount, 1, 'the finished lane\'s ring waits for the next lane');
  const second = p.lane(['sha512']);
  assert.equal(second.ring.memory, first.ring.memory, 'same shared memory, not a new allocation');
  assert.equal(p.idleRingCount, 0);
  await feed(second, data);
  assert.equal((await second.digest()).sha512, hex('sha512', data), 'the reused ring hashes correctly');

  const a = p.lane(['md5']);
  const b = p.lane(['md5']);
  assert.notEqual(a.ring.memory, b.ring.memory, 'concurrent lanes never share a ring');
  a.close();
  b.close();
  assert.equal(p.idleRingCount, 1, 'no more than maxIdleRings are kept');
  const other = p.lane(['md5'], { blocks: 3 });
  assert.notEqual(other.ring.memory, a.ring.memory, 'a ring of another size is not reused');
  other.close();

  const manual = p.lane(['md5'], { recycle: 'manual' });
  const idle = p.idleRingCount;
  await feed(manual, data);
  await manual.digest();
  assert.equal(p.idleRingCount, idle, 'manual: the ring stays with its owner after the digests');
  manual.recycle();
  manual.recycle();
  assert.equal(p.idleRingCount, Math.min(idle + 1, 1), 'recycle() hands it back, once');
});

