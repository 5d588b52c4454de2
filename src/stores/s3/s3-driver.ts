// The S3 store (glance_store's `s3`): one object per image, key = image id, in s3_store_bucket.
// Locations are `s3://<host>/<bucket>/<id>` (`s3+https://` for an https endpoint) WITHOUT the
// access/secret key glance_store embeds; Glance's credential-bearing locations are still read, and
// their credentials ignored.
//
// put() is all-or-nothing. Data of known size up to s3_store_large_object_size is one streamed
// PutObject; anything else a multipart upload with parts of s3_store_large_object_chunk_size,
// s3_store_thread_pools in flight. Each part is copied into one of at most thread-pools part
// buffers, reused for the upload's later parts, so memory stays at chunk size × thread pools per
// upload and every byte is copied once (lib-storage, used before, concatenated every part into a
// fresh buffer: 512 MiB in 10 MB parts, 10 in flight, against Swift's s3api took 2.5 CPU-s at
// 124–128 MiB/s; now 0.8 CPU-s at 211 MiB/s, 1.2 CPU-s without UNSIGNED-PAYLOAD below). Any
// failure aborts the multipart upload (AbortMultipartUpload), so no parts stay behind. S3 has no
// create-if-absent either (see swift-driver.ts): a nonce in x-amz-meta-glimpse-put is read back,
// and the put whose object is there wins.
import { Agent as HttpsAgent } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { Readable, Transform, pipeline } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

import { lazyImport } from '../../lib/lazy-import.ts';
import { StoreError, type ByteRange, type PutResult, type StoreDriver, type StoreProbe } from '../../ports/store.ts';
import { StoreDuplicateError } from '../errors.ts';
import { storeErrorFromNetwork, storeErrorFromStatus, type RemoteOperation } from '../remote-errors.ts';

export interface S3StoreDriverOptions {
  id: string;
  /** s3_store_host: `host[:port]` (http, as glance_store assumes) or a full http(s) URL. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  createBucketOnPut?: boolean;
  /** Path-style URLs (`host/bucket/key`) instead of virtual-hosted ones (`bucket.host/key`). */
  forcePathStyle: boolean;
  /** Bytes; at or below (when the size is known) one PutObject. */
  largeObjectSize: number;
  /** Bytes per multipart part (at least 5 MiB, S3's minimum). */
  largeObjectChunkSize: number;
  /** Parts in flight per upload. */
  threadPools: number;
  /** Most parts the service accepts (AWS 10 000; Swift's s3api 1000); large known sizes get bigger parts. */
  maxParts?: number;
  /** s3_store_cacert (lib/tls.ts): whom the endpoint's HTTPS certificate must be issued by. */
  tls?: ConnectionOptions;
}

const OBJECT_NAME = /^[A-Za-z0-9_-]{1,200}$/;
const MIN_PART = 5 * 1024 * 1024;
const WHAT = 'S3 store';
// The AWS SDK is loaded when an s3 store is first used (~20 MB a process without one need not carry).
const sdk = lazyImport(() => import('@aws-sdk/client-s3'));
type Sdk = Awaited<ReturnType<typeof sdk>>;

export class S3StoreDriver implements StoreDriver {
  readonly id: string;
  readonly type = 's3';
  private connected: Promise<{ client: S3Client; aws: Sdk }> | undefined;
  private readonly endpoint: string;
  private readonly scheme: 's3' | 's3+https';
  private readonly host: string;
  private bucketChecked = false;

  constructor(private readonly options: S3StoreDriverOptions) {
    this.id = options.id;
    const url = /^https?:\/\//i.test(options.endpoint) ? options.endpoint : `http://${options.endpoint}`;
    const parsed = new URL(url);
    this.scheme = parsed.protocol === 'https:' ? 's3+https' : 's3';
    this.host = parsed.host.toLowerCase();
    this.endpoint = url;
  }

  /** The SDK and its client, made on first use. */
  private connect(): Promise<{ client: S3Client; aws: Sdk }> {
    return this.connected ??= sdk().then((aws) => {
      const client = new aws.S3Client({
        endpoint: this.endpoint,
        region: this.options.region,
        forcePathStyle: this.options.forcePathStyle,
        credentials: { accessKeyId: this.options.accessKey, secretAccessKey: this.options.secretKey },
        // Streams are sent plainly (no aws-chunked trailers, which Swift's s3api and older S3
        // implementations refuse); the writer hashes the data anyway.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
        // The SDK's own agent settings (keep-alive, 50 sockets), with the configured CA.
        ...(this.options.tls ? { requestHandler: { httpsAgent: new HttpsAgent({ ...this.options.tls, keepAlive: true, maxSockets: 50 }) } } : {}),
      });
      client.middlewareStack.add((next, context) => (args) => {
        unsignedPayload(args.request, context.commandName);
        return next(args);
      }, { step: 'build', name: 'glimpseUnsignedPayload' });
      return { aws, client };
    });
  }

  locationFor(imageId: string): string {
    return `${this.scheme}://${this.host}/${this.options.bucket}/${imageId}`;
  }

  async put(imageId: string, source: Readable, options: { sizeHint?: number; signal?: AbortSignal } = {}): Promise<PutResult> {
    const { signal, sizeHint } = options;
    const Bucket = this.options.bucket;
    try {
      signal?.throwIfAborted();
      if (!OBJECT_NAME.test(imageId)) {
        throw new StoreError('InvalidLocation', `Image id ${JSON.stringify(imageId)} cannot name an object in this store.`);
      }
      await this.ensureBucket(signal);
      if (await this.exists(imageId, signal)) throw new StoreDuplicateError(imageId);
    } catch (error) {
      source.destroy();
      throw failure(error, signal, undefined, 'write');
    }

    const nonce = randomBytes(8).toString('hex');
    const params = { Bucket, Key: imageId, Metadata: { 'glimpse-put': nonce }, ContentType: 'application/octet-stream' };
    const multipart = { uploadId: undefined as string | undefined };
    let sourceError: unknown;
    source.once('error', (error) => { sourceError ??= error; });
    const onAbort = () => source.destroy(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const single = sizeHint !== undefined && sizeHint <= this.options.largeObjectSize;
    try {
      const { client, aws } = await this.connect();
      let bytes = 0;
      if (single) {
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            done(null, chunk);
          },
        });
        pipeline(source, counted, () => {});
        await client.send(new aws.PutObjectCommand({ ...params, Body: counted, ContentLength: sizeHint }), { abortSignal: signal });
      } else {
        bytes = await this.putParts(client, aws, params, source, sizeHint, signal, multipart);
      }
      if (sourceError !== undefined) throw sourceError;
      signal?.throwIfAborted();
      const head = await client.send(new aws.HeadObjectCommand({ Bucket, Key: imageId }));
      if (head.Metadata?.['glimpse-put'] !== nonce) throw new StoreDuplicateError(imageId);
      return { location: this.locationFor(imageId), bytesWritten: bytes };
    } catch (error) {
      source.destroy();
      await this.abandon(multipart.uploadId, imageId, nonce, error);
      throw failure(error, signal, sourceError, 'write');
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A multipart upload of `source`: parts of the chunk size in at most thread-pools reused buffers,
   * as many parts in flight; the source waits while all buffers are taken. Returns the bytes sent.
   * `multipart.uploadId` is set as soon as the upload exists, for abandon() to abort it.
   */
  /** Part buffers of a multipart put (none for one PutObject): at most thread-pools parts of the part size. */
  putBuffers(sizeHint?: number): number {
    if (sizeHint !== undefined && sizeHint <= this.options.largeObjectSize) return 0;
    return this.partSize(sizeHint) * Math.max(1, this.options.threadPools);
  }

  /** Bytes per part: the chunk size, larger when a known size would need more than maxParts parts. */
  private partSize(sizeHint: number | undefined): number {
    const maxParts = this.options.maxParts ?? 10_000;
    return Math.max(MIN_PART, this.options.largeObjectChunkSize, Math.ceil((sizeHint ?? 0) / maxParts));
  }

  private async putParts(client: S3Client, aws: Sdk, params: { Bucket: string; Key: string; Metadata: Record<string, string>; ContentType: string },
    source: Readable, sizeHint: number | undefined, signal: AbortSignal | undefined, multipart: { uploadId?: string }): Promise<number> {
    const maxParts = this.options.maxParts ?? 10_000;
    const partSize = this.partSize(sizeHint);
    const created = await client.send(new aws.CreateMultipartUploadCommand(params), { abortSignal: signal });
    const UploadId = created.UploadId!;
    multipart.uploadId = UploadId;
    const { Bucket, Key } = params;
    const pools = Math.max(1, this.options.threadPools);
    const free: Buffer[] = [];
    let allocated = 0;
    const inFlight = new Set<Promise<void>>();
    const done: Array<{ PartNumber: number; ETag: string | undefined }> = [];
    let failed: { error: unknown } | undefined;
    let partNumber = 0;
    const send = (buffer: Buffer, length: number) => {
      const PartNumber = ++partNumber;
      if (PartNumber > maxParts) throw new StoreError('StoreFull', `The ${WHAT} takes at most ${maxParts} parts of ${partSize} bytes.`);
      const sent: Promise<void> = client.send(new aws.UploadPartCommand({ Bucket, Key, UploadId, PartNumber,
        Body: buffer.subarray(0, length), ContentLength: length }), { abortSignal: signal })
        .then((res) => {
          done.push({ PartNumber, ETag: res.ETag });
          free.push(buffer);
        }, (error: unknown) => { failed ??= { error }; })
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    };
    const take = async (): Promise<Buffer> => {
      while (free.length === 0 && allocated >= pools && !failed) await Promise.race(inFlight);
      if (failed) throw failed.error;
      const reused = free.pop();
      if (reused) return reused;
      allocated++;
      return Buffer.allocUnsafe(partSize);
    };
    /** Copies the source into part buffers, sending each full one; the bytes read. */
    const copyIntoParts = async (): Promise<number> => {
      let bytes = 0;
      let current: Buffer | undefined;
      let fill = 0;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.length;) {
          current ??= await take();
          const n = Math.min(chunk.length - offset, partSize - fill);
          chunk.copy(current, fill, offset, offset + n);
          fill += n;
          offset += n;
          if (fill === partSize) {
            send(current, fill);
            current = undefined;
            fill = 0;
          }
        }
        bytes += chunk.length;
      }
      // The last part may be short; an empty upload is one empty part.
      if (fill > 0 || partNumber === 0) send(current ?? await take(), fill);
      return bytes;
    };
    let bytes: number;
    try {
      bytes = await copyIntoParts();
      await Promise.all(inFlight);
      if (failed) throw failed.error;
    } catch (error) {
      // Let the parts in flight settle first: a part that lands after the abort would stay behind.
      await Promise.allSettled([...inFlight]);
      throw error;
    }
    const Parts = done.sort((a, b) => a.PartNumber - b.PartNumber);
    await client.send(new aws.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }),
      { abortSignal: signal });
    return bytes;
  }

  async get(location: string, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<{ stream: Readable; size: number }> {
    const Key = this.keyOf(location);
    const { range, signal } = options;
    try {
      const { client, aws } = await this.connect();
      const res = await client.send(new aws.GetObjectCommand({
        Bucket: this.options.bucket, Key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }), { abortSignal: signal });
      const total = /\/(\d+)$/.exec(res.ContentRange ?? '')?.[1];
      return { stream: res.Body as Readable, size: total !== undefined ? Number(total) : res.ContentLength ?? 0 };
    } catch (error) {
      if (statusOf(error) === 416) return { stream: Readable.from([], { objectMode: false }), size: await this.size(location) };
      throw failure(error, signal, undefined, 'read');
    }
  }

  async delete(location: string): Promise<void> {
    const Key = this.keyOf(location);
    try {
      const { client, aws } = await this.connect();
      await client.send(new aws.DeleteObjectCommand({ Bucket: this.options.bucket, Key }));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw failure(error, undefined, undefined, 'delete');
    }
  }

  async size(location: string): Promise<number> {
    const Key = this.keyOf(location);
    try {
      const { client, aws } = await this.connect();
      const head = await client.send(new aws.HeadObjectCommand({ Bucket: this.options.bucket, Key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      throw failure(error, undefined, undefined, 'read');
    }
  }

  owns(location: string): boolean {
    return this.ownKey(location) !== undefined;
  }

  /** The SDK client (tests list buckets and open uploads with it). */
  async s3(): Promise<S3Client> {
    return (await this.connect()).client;
  }

  private async exists(Key: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      const { client, aws } = await this.connect();
      await client.send(new aws.HeadObjectCommand({ Bucket: this.options.bucket, Key }), { abortSignal: signal });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Reachable and writable when the bucket answers (or could be created on put). */
  async probe(signal?: AbortSignal): Promise<StoreProbe> {
    try {
      await this.ensureBucket(signal);
      return { reachable: true, writable: true };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { reachable: error instanceof StoreError, writable: false,
        reason: `S3 bucket ${this.options.bucket} at ${this.endpoint}: ${message}` };
    }
  }

  private async ensureBucket(signal: AbortSignal | undefined): Promise<void> {
    if (this.bucketChecked) return;
    const Bucket = this.options.bucket;
    const { client, aws } = await this.connect();
    try {
      await client.send(new aws.HeadBucketCommand({ Bucket }), { abortSignal: signal });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      if (!this.options.createBucketOnPut) {
        throw new StoreError('StoreUnavailable', `S3 bucket ${Bucket} does not exist; create it or set s3_store_create_bucket_on_put.`);
      }
      try {
        await client.send(new aws.CreateBucketCommand({ Bucket }), { abortSignal: signal });
      } catch (createError) {
        const name = (createError as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createError;
      }
    }
    this.bucketChecked = true;
  }

  /** Aborts the multipart uploads of the image's key that were never completed (their put died). */
  async removePartial(imageId: string): Promise<number> {
    if (!OBJECT_NAME.test(imageId)) return 0;
    const Bucket = this.options.bucket;
    try {
      const { client, aws } = await this.connect();
      let aborted = 0;
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (;;) {
        const page = await client.send(new aws.ListMultipartUploadsCommand({ Bucket, Prefix: imageId, KeyMarker, UploadIdMarker }));
        for (const upload of page.Uploads ?? []) {
          if (upload.Key !== imageId || !upload.UploadId) continue;
          await client.send(new aws.AbortMultipartUploadCommand({ Bucket, Key: imageId, UploadId: upload.UploadId }));
          aborted++;
        }
        if (!page.IsTruncated) return aborted;
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchBucket') return 0;
      throw failure(error, undefined, undefined, 'delete');
    }
  }

  /** After a failed put: abort the multipart upload if one was started, and remove an object a
   *  single PutObject committed after all (a late source error). */
  private async abandon(uploadId: string | undefined, Key: string, nonce: string, error: unknown): Promise<void> {
    const Bucket = this.options.bucket;
    const connected = await this.connect().catch(() => undefined);
    if (!connected) return; // the SDK never loaded, so nothing was sent
    const { client, aws } = connected;
    if (uploadId) {
      await client.send(new aws.AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
    }
    if (error instanceof StoreDuplicateError) return;
    try {
      const head = await client.send(new aws.HeadObjectCommand({ Bucket, Key }));
      if (head.Metadata?.['glimpse-put'] === nonce) await client.send(new aws.DeleteObjectCommand({ Bucket, Key }));
    } catch {
      // Nothing committed (404), or the store is gone: nothing more to do here.
    }
  }

  private keyOf(location: string): string {
    const key = this.ownKey(location);
    if (key === undefined) throw new StoreError('InvalidLocation', `Location is not in store ${this.id}.`);
    return key;
  }

  private ownKey(location: string): string | undefined {
    const match = /^(s3|s3\+https?):\/\/(.+)$/i.exec(location);
    if (!match) return undefined;
    let rest = match[2]!;
    const at = rest.lastIndexOf('@');
    if (at >= 0) rest = rest.slice(at + 1);
    const parts = rest.split('/');
    if (parts.length !== 3) return undefined;
    const [host, bucket, key] = parts as [string, string, string];
    const scheme = match[1]!.toLowerCase() === 's3+https' ? 's3+https' : 's3';
    if (scheme !== this.scheme || host.toLowerCase() !== this.host || bucket !== this.options.bucket || !OBJECT_NAME.test(key)) {
      return undefined;
    }
    return key;
  }
}

/**
 * Image data is signed as UNSIGNED-PAYLOAD, as the SDK already does for a streamed PutObject. A
 * multipart part is a Buffer, for which SigV4 would otherwise compute the SHA-256 of every byte
 * before sending it: Glimpse hashes the data itself, and TLS (s3+https) protects it in transit.
 */
function unsignedPayload(request: unknown, command: string | undefined): void {
  const headers = (request as { headers?: Record<string, string> } | undefined)?.headers;
  if (headers && (command === 'UploadPartCommand' || command === 'PutObjectCommand')) {
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  }
}

function statusOf(error: unknown): number | undefined {
  const meta = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

function failure(error: unknown, signal: AbortSignal | undefined, sourceError: unknown, operation: RemoteOperation): unknown {
  if (signal?.aborted) return signal.reason;
  if (sourceError !== undefined) return sourceError;
  if (error instanceof StoreError || error instanceof StoreDuplicateError) return error;
  const status = statusOf(error);
  const name = (error as { name?: string } | null)?.name;
  if (name === 'EntityTooLarge' || name === 'QuotaExceeded') return new StoreError('StoreFull', `The ${WHAT} refused the data (${name}).`);
  if (status !== undefined && status >= 300) return storeErrorFromStatus(status, operation, WHAT);
  return storeErrorFromNetwork(error, WHAT);
}
