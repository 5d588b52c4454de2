// The S3 store (glance_store's `s3`): one object per image, key = image id, in s3_store_bucket.
// Locations are `s3://<host>/<bucket>/<id>` (`s3+https://` for an https endpoint) WITHOUT the
// access/secret key glance_store embeds; Glance's credential-bearing locations are still read, and
// their credentials ignored.
//
// put() is all-or-nothing. Data of known size up to s3_store_large_object_size is one streamed
// PutObject; anything else a multipart upload (lib-storage) with parts of
// s3_store_large_object_chunk_size, s3_store_thread_pools in flight, so memory stays at about
// chunk size × thread pools per upload. Any failure aborts the multipart upload
// (AbortMultipartUpload), so no parts stay behind. S3 has no create-if-absent either (see
// swift-driver.ts): a nonce in x-amz-meta-glimpse-put is read back, and the put whose object is
// there wins.
import { randomBytes } from 'node:crypto';
import { Readable, Transform, pipeline } from 'node:stream';
import {
  AbortMultipartUploadCommand, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand,
  HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { StoreError, type ByteRange, type PutResult, type StoreDriver } from '../../ports/store.ts';
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
}

const OBJECT_NAME = /^[A-Za-z0-9_-]{1,200}$/;
const MIN_PART = 5 * 1024 * 1024;
const WHAT = 'S3 store';

export class S3StoreDriver implements StoreDriver {
  readonly id: string;
  readonly type = 's3';
  private readonly client: S3Client;
  private readonly scheme: 's3' | 's3+https';
  private readonly host: string;
  private bucketChecked = false;

  constructor(private readonly options: S3StoreDriverOptions) {
    this.id = options.id;
    const url = /^https?:\/\//i.test(options.endpoint) ? options.endpoint : `http://${options.endpoint}`;
    const parsed = new URL(url);
    this.scheme = parsed.protocol === 'https:' ? 's3+https' : 's3';
    this.host = parsed.host.toLowerCase();
    this.client = new S3Client({
      endpoint: url,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKey, secretAccessKey: options.secretKey },
      // Streams are sent plainly (no aws-chunked trailers, which Swift's s3api and older S3
      // implementations refuse); the writer hashes the data anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
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

    let sourceError: unknown;
    let bytes = 0;
    source.once('error', (error) => { sourceError ??= error; });
    const onAbort = () => source.destroy(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    pipeline(source, counted, () => {});
    const nonce = randomBytes(8).toString('hex');
    const params = { Bucket, Key: imageId, Metadata: { 'glimpse-put': nonce }, ContentType: 'application/octet-stream' };
    let upload: Upload | undefined;
    try {
      if (sizeHint !== undefined && sizeHint <= this.options.largeObjectSize) {
        await this.client.send(new PutObjectCommand({ ...params, Body: counted, ContentLength: sizeHint }), { abortSignal: signal });
      } else {
        const maxParts = this.options.maxParts ?? 10_000;
        const partSize = Math.max(MIN_PART, this.options.largeObjectChunkSize, Math.ceil((sizeHint ?? 0) / maxParts));
        upload = new Upload({ client: this.client, params: { ...params, Body: counted }, partSize,
          queueSize: Math.max(1, this.options.threadPools), leavePartsOnError: false });
        await upload.done();
      }
      if (sourceError !== undefined) throw sourceError;
      signal?.throwIfAborted();
      const head = await this.client.send(new HeadObjectCommand({ Bucket, Key: imageId }));
      if (head.Metadata?.['glimpse-put'] !== nonce) throw new StoreDuplicateError(imageId);
      return { location: this.locationFor(imageId), bytesWritten: bytes };
    } catch (error) {
      source.destroy();
      counted.destroy();
      await this.abandon(upload, imageId, nonce, error);
      throw failure(error, signal, sourceError, 'write');
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(location: string, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<{ stream: Readable; size: number }> {
    const Key = this.keyOf(location);
    const { range, signal } = options;
    try {
      const res = await this.client.send(new GetObjectCommand({
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
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key }));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw failure(error, undefined, undefined, 'delete');
    }
  }

  async size(location: string): Promise<number> {
    const Key = this.keyOf(location);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      throw failure(error, undefined, undefined, 'read');
    }
  }

  owns(location: string): boolean {
    return this.ownKey(location) !== undefined;
  }

  /** The SDK client (tests list buckets and open uploads with it). */
  get s3(): S3Client {
    return this.client;
  }

  private async exists(Key: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key }), { abortSignal: signal });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  private async ensureBucket(signal: AbortSignal | undefined): Promise<void> {
    if (this.bucketChecked) return;
    const Bucket = this.options.bucket;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket }), { abortSignal: signal });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      if (!this.options.createBucketOnPut) {
        throw new StoreError('StoreUnavailable', `S3 bucket ${Bucket} does not exist; create it or set s3_store_create_bucket_on_put.`);
      }
      try {
        await this.client.send(new CreateBucketCommand({ Bucket }), { abortSignal: signal });
      } catch (createError) {
        const name = (createError as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createError;
      }
    }
    this.bucketChecked = true;
  }

  /** After a failed put: abort a multipart upload lib-storage may have left, and remove an object a
   *  single PutObject committed after all (a late source error). */
  private async abandon(upload: Upload | undefined, Key: string, nonce: string, error: unknown): Promise<void> {
    const Bucket = this.options.bucket;
    const uploadId = (upload as { uploadId?: string } | undefined)?.uploadId;
    if (uploadId) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
    }
    if (error instanceof StoreDuplicateError) return;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket, Key }));
      if (head.Metadata?.['glimpse-put'] === nonce) await this.client.send(new DeleteObjectCommand({ Bucket, Key }));
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

function statusOf(error: unknown): number | undefined {
  if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode;
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
