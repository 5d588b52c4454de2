// Options of the swift, s3 and rbd store drivers, under glance_store's names, declared for both places
// glance_store reads them: `[glance_store]` (single-store form) and each `[<backend id>]` section.
// Sizes keep glance_store's units (MB), so operators' files carry over.
import type { OptionDef } from './schema.ts';

type DriverOption = Omit<OptionDef, 'section'>;

const driverOptions: readonly DriverOption[] = [
  // swift
  { name: 'swift_store_auth_version', type: 'enum', choices: ['1', '2', '3'], default: '2', deprecatedFor: 'auth_version in swift_store_config_file',
    help: 'Swift authentication: `1` for tempauth/swauth (`/auth/v1.0`), `3` for Keystone v3. `2` (Keystone v2.0, glance_store\'s default) is served with Keystone v3, as Keystone no longer offers v2.0.' },
  { name: 'swift_store_auth_address', type: 'uri', schemes: ['http', 'https'], sample: 'http://127.0.0.1:5000/v3',
    deprecatedFor: 'auth_address in swift_store_config_file',
    help: 'URL of the Swift authentication service: the tempauth URL, or Keystone\'s identity URL.' },
  { name: 'swift_store_user', type: 'string', secret: true, sample: 'service:glance', deprecatedFor: 'user in swift_store_config_file',
    help: 'User to authenticate as: `account:user` for tempauth, `project:user` for Keystone.' },
  { name: 'swift_store_key', type: 'string', secret: true, deprecatedFor: 'key in swift_store_config_file',
    help: 'Password or key of `swift_store_user`.' },
  { name: 'swift_store_config_file', type: 'path', sample: '/etc/glimpse/glance-swift.conf',
    help: 'File of Swift credentials with one section per reference (`user`, `key`, `auth_address`, `auth_version`, domain options). Recommended: image locations then name the reference (`swift+config://ref1/…`) and never hold credentials.' },
  { name: 'default_swift_reference', type: 'string', default: 'ref1',
    help: 'Section of `swift_store_config_file` whose credentials the store uses.' },
  { name: 'swift_store_container', type: 'string', default: 'glance',
    help: 'Container image objects are stored in (or the prefix of the containers, with `swift_store_multiple_containers_seed`).' },
  { name: 'swift_store_multiple_containers_seed', type: 'int', default: '0', min: 0, max: 32,
    help: 'Spread images over containers named `<container>_<first N characters of the image id>`; 0 keeps one container.' },
  { name: 'swift_store_create_container_on_put', type: 'bool', default: 'false',
    help: 'Create a missing container on the first upload instead of failing it (503).' },
  { name: 'swift_store_large_object_size', type: 'int', default: '5120', min: 1,
    help: 'Images of known size up to this many MB are stored as one object; larger ones, and those of unknown size, as a Static Large Object of segments.' },
  { name: 'swift_store_large_object_chunk_size', type: 'int', default: '200', min: 1,
    help: 'Size in MB of the segments of a large object. Swift allows at most 1000 segments, so this also bounds the largest image of unknown size.' },
  { name: 'swift_store_region', type: 'string', sample: 'RegionOne',
    help: 'Keystone catalog region of the object-store endpoint to use.' },
  { name: 'swift_store_endpoint', type: 'uri', schemes: ['http', 'https'], sample: 'https://swift.example.com/v1/AUTH_glance',
    help: 'Storage URL to use instead of the one authentication returns.' },
  { name: 'swift_store_endpoint_type', type: 'enum', choices: ['publicURL', 'adminURL', 'internalURL'], default: 'publicURL',
    help: 'Keystone catalog interface of the object-store endpoint.' },
  { name: 'swift_store_cacert', type: 'path', sample: '/etc/glimpse/tls/swift-ca.crt',
    help: 'PEM CA certificates the HTTPS certificates of Swift and of its authentication service are checked against, instead of the ones Node.js trusts.' },
  { name: 'swift_store_auth_insecure', type: 'bool', default: 'false',
    help: 'Do not check the HTTPS certificates of Swift and of its authentication service (test setups only).' },
  { name: 'swift_store_service_type', type: 'string', default: 'object-store',
    help: 'Keystone catalog service type of Swift.' },
  // s3
  { name: 's3_store_host', type: 'string', sample: 'http://127.0.0.1:8080',
    help: 'S3 endpoint: a URL, or `host[:port]` for plain http. An https URL gives `s3+https://` locations.' },
  { name: 's3_store_access_key', type: 'string', secret: true, help: 'S3 access key.' },
  { name: 's3_store_secret_key', type: 'string', secret: true, help: 'S3 secret key.' },
  { name: 's3_store_bucket', type: 'string', sample: 'glance', help: 'Bucket image objects are stored in.' },
  { name: 's3_store_create_bucket_on_put', type: 'bool', default: 'false',
    help: 'Create a missing bucket on the first upload instead of failing it (503).' },
  { name: 's3_store_bucket_url_format', type: 'enum', choices: ['auto', 'path', 'virtual'], default: 'auto',
    help: 'Address buckets path-style (`host/bucket`) or virtual-hosted (`bucket.host`). `auto` uses path-style for IP addresses, localhost and bucket names that are not DNS labels, virtual-hosted otherwise.' },
  { name: 's3_store_large_object_size', type: 'int', default: '100', min: 1,
    help: 'Images of known size up to this many MB are sent in one PUT; others by multipart upload.' },
  { name: 's3_store_large_object_chunk_size', type: 'int', default: '10', min: 5,
    help: 'Size in MB of multipart upload parts (at least 5). An upload holds about this times `s3_store_thread_pools` in memory.' },
  { name: 's3_store_thread_pools', type: 'int', default: '10', min: 1,
    help: 'Parts of one multipart upload sent in parallel.' },
  { name: 's3_store_cacert', type: 'path', sample: '/etc/glimpse/tls/s3-ca.crt',
    help: 'PEM CA certificates the S3 endpoint\'s HTTPS certificate is checked against. Unset or empty: the ones Node.js trusts.' },
  { name: 's3_store_region', type: 'string', sample: 'us-east-1',
    help: 'Glimpse option: region requests are signed for. Unset: taken from an AWS host name (`s3-eu-west-1.amazonaws.com`), else `us-east-1`.' },
  // rbd
  { name: 'rbd_store_pool', type: 'string', default: 'images',
    help: 'RADOS pool the RBD images (one per Glance image) are created in.' },
  { name: 'rbd_store_user', type: 'string', sample: 'glance',
    help: 'Ceph client to connect as, without `client.` (cephx). Unset: librados\' choice (`admin`). Its keyring must be named in `rbd_store_ceph_conf` (`[client.<user>] keyring = …`).' },
  { name: 'rbd_store_ceph_conf', type: 'string', default: '', sample: '/etc/ceph/ceph.conf',
    help: 'Ceph configuration file (monitor addresses, fsid, keyring). Empty: librados\' default search ($CEPH_CONF, /etc/ceph/ceph.conf, ~/.ceph/config, ./ceph.conf).' },
  { name: 'rbd_store_chunk_size', type: 'int', default: '8', min: 1, max: 32,
    help: 'Size in MB of the RADOS objects an image is striped over (the RBD object size; a power of two), and of the pieces an upload is written in.' },
  { name: 'rados_connect_timeout', type: 'int', default: '-1',
    help: 'Seconds to wait for the cluster when connecting and for each monitor or OSD operation; a negative value keeps librados\' defaults.' },
  { name: 'rbd_thin_provisioning', type: 'bool', default: 'false',
    help: 'Do not write chunks that are all zeros: they read back as zeros from RBD anyway, and take no space in the pool.' },
];

/** The options for `[glance_store]` and for the per-backend section (schema.ts passes its name). */
export function storeDriverOptions(backendSection: string): OptionDef[] {
  return ['glance_store', backendSection].flatMap((section) => driverOptions.map((o) => ({ ...o, section })));
}
