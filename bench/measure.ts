// The measurements, the same for Glimpse and for the reference Glance: GET image req/s under
// concurrency, list latency percentiles, and 1 GiB upload/download rates with the server's memory
// sampled meanwhile. Each repeats and reports medians: the machine is shared and noisy.
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ImagesClient } from './client.ts';
import { processCpuSeconds } from './cpu.ts';
import { sampleRss } from './server.ts';

const MiB = 1024 * 1024;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface RateResult {
  /** Median of the rounds' mean req/s. */
  reqPerSec: number;
  rounds: number[];
  non2xx: number;
  errors: number;
}

/** GET /v2/images/{id} with `connections` keep-alive connections (autocannon), `rounds` × `seconds`. */
export async function getImageRate(client: ImagesClient, id: string,
  options: { connections?: number; seconds?: number; rounds?: number } = {}): Promise<RateResult> {
  const { connections = 16, seconds = 8, rounds = 3 } = options;
  const run = (duration: number) => autocannon({
    url: `${client.baseUrl}/v2/images/${id}`, connections, duration, headers: client.headers,
  });
  await run(2); // warm-up: JIT, connection setup, caches
  const results = [];
  for (let i = 0; i < rounds; i++) results.push(await run(seconds));
  return {
    reqPerSec: median(results.map((r) => r.requests.average)),
    rounds: results.map((r) => r.requests.average),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

export interface LatencyResult {
  p50: number;
  p95: number;
  requests: number;
  /** Images on the first page (should be the limit). */
  pageSize: number;
}

/** `requests` sequential GET `path` after `warmup` unmeasured ones; latencies in ms. */
export async function listLatency(client: ImagesClient, path = '/v2/images?limit=25',
  options: { warmup?: number; requests?: number } = {}): Promise<LatencyResult> {
  const { warmup = 50, requests = 300 } = options;
  let pageSize = 0;
  const once = async () => {
    const started = process.hrtime.bigint();
    const res = await client.send('GET', path);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (res.status !== 200) throw new Error(`GET ${path} → ${res.status}: ${res.text.slice(0, 300)}`);
    pageSize = (JSON.parse(res.text) as { images: unknown[] }).images.length;
    return ms;
  };
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) samples.push(await once());
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), requests, pageSize };
}

/**
 * listLatency() against several servers at once, their requests interleaved (one to each per round,
 * the order alternating), so that whatever else loads the machine meanwhile weighs on all of them
 * alike: what differs between the results is the servers, not the minute they were measured in.
 */
export async function interleavedListLatency(clients: ImagesClient[], path = '/v2/images?limit=25',
  options: { warmup?: number; requests?: number } = {}): Promise<LatencyResult[]> {
  const { warmup = 50, requests = 300 } = options;
  const pageSizes = clients.map(() => 0);
  const once = async (i: number) => {
    const started = process.hrtime.bigint();
    const res = await clients[i]!.send('GET', path);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (res.status !== 200) throw new Error(`GET ${path} → ${res.status}: ${res.text.slice(0, 300)}`);
    pageSizes[i] = (JSON.parse(res.text) as { images: unknown[] }).images.length;
    return ms;
  };
  const order = (round: number) => (round % 2 === 0 ? clients.map((_, i) => i) : clients.map((_, i) => clients.length - 1 - i));
  for (let r = 0; r < warmup; r++) for (const i of order(r)) await once(i);
  const samples: number[][] = clients.map(() => []);
  for (let r = 0; r < requests; r++) for (const i of order(r)) samples[i]!.push(await once(i));
  return samples.map((s, i) => ({ p50: percentile(s, 50), p95: percentile(s, 95), requests, pageSize: pageSizes[i]! }));
}

export interface TransferResult {
  size: number;
  /** Medians over the rounds, MiB/s. */
  uploadMiBps: number;
  downloadMiBps: number;
  uploads: number[];
  downloads: number[];
  /** Largest VmRSS sample (every 50 ms) of each watched process during the uploads, bytes. */
  uploadRssPeaks: number[];
  /** Largest RssAnon sample of each watched process during the uploads, bytes. */
  uploadAnonPeaks: number[];
  /** The largest value afterUpload() returned (e.g. VmHWM reset before each upload), bytes. */
  uploadHwm: number;
  /** CPU-seconds of the watched processes per GB (10^9 bytes) uploaded / downloaded, medians (NaN: none watched). */
  uploadCpuPerGB: number;
  downloadCpuPerGB: number;
}

/**
 * Creates an image, uploads `size` generated bytes, downloads them back (checking the size),
 * `rounds` times; the images are deleted afterwards. `watch` are pids whose RSS is sampled
 * during the uploads; beforeUpload/afterUpload run around each upload (to reset and read VmHWM).
 */
export async function transfer(client: ImagesClient, size: number, options: {
  rounds?: number; watch?: number[]; beforeUpload?: () => Promise<void>; afterUpload?: () => Promise<number>;
} = {}): Promise<TransferResult> {
  const { rounds = 3, watch = [] } = options;
  const uploads: number[] = [];
  const downloads: number[] = [];
  let peaks = watch.map(() => ({ rss: 0, anon: 0 }));
  let uploadHwm = 0;
  const uploadCpu: number[] = [];
  const downloadCpu: number[] = [];
  const cpu = () => processCpuSeconds(watch);
  for (let i = 0; i < rounds; i++) {
    const id = await client.createImage(`bench-transfer-${i}`);
    try {
      await options.beforeUpload?.();
      const sampler = sampleRss(watch);
      let seconds: number;
      const cpuBefore = await cpu();
      try {
        seconds = await client.upload(id, size);
        uploadCpu.push(((await cpu()) - cpuBefore) / (size / 1e9));
      } finally {
        peaks = (await sampler.stop()).map((p, j) => ({
          rss: Math.max(p.rss, peaks[j]!.rss), anon: Math.max(p.anon, peaks[j]!.anon),
        }));
      }
      uploads.push(size / MiB / seconds);
      uploadHwm = Math.max(uploadHwm, await options.afterUpload?.() ?? 0);
      await sleep(500); // let the last writeback settle before reading it back
      const downloadBefore = await cpu();
      downloads.push(size / MiB / await client.download(id, size));
      downloadCpu.push(((await cpu()) - downloadBefore) / (size / 1e9));
    } finally {
      await client.deleteImage(id);
    }
  }
  return {
    size, uploads, downloads, uploadHwm,
    uploadRssPeaks: peaks.map((p) => p.rss), uploadAnonPeaks: peaks.map((p) => p.anon),
    uploadMiBps: median(uploads), downloadMiBps: median(downloads),
    uploadCpuPerGB: watch.length > 0 ? median(uploadCpu) : NaN, downloadCpuPerGB: watch.length > 0 ? median(downloadCpu) : NaN,
  };
}
