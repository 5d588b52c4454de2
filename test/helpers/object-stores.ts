// The real object store for driver tests: the Swift (with its S3 API) that
// shared/tools/objectstore.sh starts. Tests read the variables that script prints
// (SWIFT_AUTH_URL, SWIFT_USER, SWIFT_KEY, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION,
// S3_FORCE_PATH_STYLE) and skip visibly when they are unset. Every suite works in its own fresh
// container/bucket and removes it afterwards.
import { randomBytes } from 'node:crypto';

import { SwiftAuth } from '../../src/stores/swift/swift-auth.ts';
import { SwiftStoreDriver } from '../../src/stores/swift/swift-driver.ts';
import { locationBase } from '../../src/stores/swift/swift-location.ts';
import { S3StoreDriver } from '../../src/stores/s3/s3-driver.ts';

export interface SwiftTestEnv { authUrl: string; user: string; key: string }
export interface S3TestEnv { endpoint: string; accessKey: string; secretKey: string; region: string; forcePathStyle: boolean }

export function swiftTestEnv(env = process.env): SwiftTestEnv | undefined {
  const { SWIFT_AUTH_URL: authUrl, SWIFT_USER: user, SWIFT_KEY: key } = env;
  return authUrl && user && key ? { authUrl, user, key } : undefined;
}

export function s3TestEnv(env = process.env): S3TestEnv | undefined {
  const { S3_ENDPOINT: endpoint, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey } = env;
  if (!endpoint || !accessKey || !secretKey) return undefined;
  return { endpoint, accessKey, secretKey, region: env.S3_REGION || 'us-east-1', forcePathStyle: env.S3_FORCE_PATH_STYLE !== 'false' };
}

export const SKIP_SWIFT = 'no Swift: set SWIFT_AUTH_URL, SWIFT_USER, SWIFT_KEY (eval "$(../shared/tools/objectstore.sh env)")';
export const SKIP_S3 = 'no S3: set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (eval "$(../shared/tools/objectstore.sh env)")';

export const uniqueBucket = (prefix: string) => `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;

export function swiftTestDriver(env: SwiftTestEnv, options: { container: string; id?: string; largeObjectSize?: number;
  chunkSize?: number; seed?: number }): SwiftStoreDriver {
  return new SwiftStoreDriver({
    id: options.id ?? 'swift',
    auth: new SwiftAuth({ authVersion: '1', authAddress: env.authUrl, user: env.user, key: env.key }),
    base: locationBase({ authAddress: env.authUrl }),
    container: options.container,
    multipleContainersSeed: options.seed ?? 0,
    createContainerOnPut: true,
    largeObjectSize: options.largeObjectSize ?? 1024 * 1024,
    largeObjectChunkSize: options.chunkSize ?? 1024 * 1024,
  });
}

/** Deletes every object of `container`, then the container (missing is fine). */
export async function dropSwiftContainer(driver: SwiftStoreDriver, container: string): Promise<void> {
  await driver.removeContainer(container);
}

export function s3TestDriver(env: S3TestEnv, options: { bucket: string; id?: string; largeObjectSize?: number;
  chunkSize?: number; threadPools?: number }): S3StoreDriver {
  return new S3StoreDriver({
    id: options.id ?? 's3',
    endpoint: env.endpoint,
    accessKey: env.accessKey,
    secretKey: env.secretKey,
    region: env.region,
    bucket: options.bucket,
    createBucketOnPut: true,
    forcePathStyle: env.forcePathStyle,
    largeObjectSize: options.largeObjectSize ?? 6 * 1024 * 1024,
    largeObjectChunkSize: options.chunkSize ?? 5 * 1024 * 1024,
    threadPools: options.threadPools ?? 4,
  });
}
