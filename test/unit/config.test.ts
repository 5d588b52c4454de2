import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { load, loadError } from './config-helpers.ts';

/** The error message for `[section] option = value`. */
function valueError(section: string, option: string, value: string): string {
  return loadError(`[${section}]\n${option} = ${value}\n`).message;
}

test('no file and no variables: the embedded defaults, paths resolved against cwd', () => {
  const { config, warnings } = loadConfig({ env: {}, cwd: '/srv/glimpse' });
  assert.deepEqual(warnings, []);
  assert.equal(config.sourceFile, undefined);
  assert.equal(config.bindHost, '127.0.0.1');
  assert.equal(config.bindPort, 9292);
  assert.equal(config.workers, 1);
  assert.equal(config.gracefulShutdownTimeout, 60);
  assert.equal(config.imageSizeCap, 1099511627776);
  assert.equal(config.userStorageQuota, 0);
  assert.equal(config.apiLimitMax, 1000);
  assert.equal(config.limitParamDefault, 25);
  assert.equal(config.showImageDirectUrl, false);
  assert.equal(config.showMultipleLocations, false);
  assert.equal(config.delayedDelete, false);
  assert.equal(config.enableV1Api, true);
  assert.equal(config.enableV2Api, true);
  assert.equal(config.hashingAlgorithm, 'sha512');
  assert.deepEqual([config.imageMemberQuota, config.imagePropertyQuota, config.imageTagQuota, config.imageLocationQuota], [128, 128, 128, 10]);
  assert.equal(config.maxRequestIdLength, 64);
  assert.equal(config.imageCacheDir, undefined);
  assert.equal(config.publicEndpoint, undefined);
  assert.deepEqual(config.imageFormat.diskFormats, ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']);
  assert.deepEqual(config.imageFormat.containerFormats, ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed']);
  assert.equal(config.database.connection, 'sqlite:///./data/glimpse.db');
  assert.deepEqual(config.stores, {
    multiStore: false, defaultBackend: 'file',
    backends: [{ id: 'file', type: 'file', weight: 0, options: {}, filesystemStoreDatadir: '/srv/glimpse/data/images' }],
  });
  assert.deepEqual(config.auth, { flavor: 'noauth', flavorSuffixes: [], allowAnonymousAccess: false });
  assert.deepEqual(config.propertyProtection, { file: undefined, ruleFormat: 'roles' });
  assert.deepEqual(config.policy, { policyFile: undefined });
  assert.deepEqual(config.healthcheck, { disableByFilePath: undefined, detailed: false });
  assert.deepEqual(config.log, { level: 'info', format: 'auto' });
  assert.equal(config.unusableStoreAtStart, 'warn');
});

test("oslo.log's options: debug, use_json (unset = auto), log_file relative to log_dir, use_syslog", () => {
  assert.deepEqual(load('[DEFAULT]\nuse_json = false\n').config.log, { level: 'info', format: 'text' });
  const { config } = load('[DEFAULT]\ndebug = true\nuse_json = true\nlog_dir = /var/log/glimpse\nlog_file = api.log\n'
    + 'use_syslog = true\nsyslog_log_facility = LOG_LOCAL3\n');
  assert.deepEqual(config.log, { level: 'debug', format: 'json', file: '/var/log/glimpse/api.log', dir: '/var/log/glimpse',
    syslogFacility: 'LOG_LOCAL3' });
  assert.equal(load('[DEFAULT]\nlog_file = /tmp/x.log\nlog_dir = /var/log\n').config.log.file, '/tmp/x.log');
});

test('every option reports where its value came from: file:line, env NAME, or default', () => {
  const { sources } = load('[DEFAULT]\nbind_port = 9393\n[database]\nconnection = sqlite:///x.db\n',
    { GLIMPSE_DEFAULT__DEBUG: 'true' });
  const find = (section: string, name: string) => sources.find((o) => o.section === section && o.name === name);
  assert.deepEqual(find('DEFAULT', 'bind_port'), { section: 'DEFAULT', name: 'bind_port', value: '9393', source: 'glimpse-api.conf:2', secret: false });
  assert.equal(find('DEFAULT', 'debug')?.source, 'env GLIMPSE_DEFAULT__DEBUG');
  assert.deepEqual([find('DEFAULT', 'bind_host')?.value, find('DEFAULT', 'bind_host')?.source], ['127.0.0.1', 'default']);
  assert.equal(find('database', 'connection')?.secret, true);
  assert.equal(find('DEFAULT', 'public_endpoint')?.value, undefined);
});

test('misspelt sections, options and environment variables get a "did you mean"', () => {
  const { warnings } = load('[DEFAULT]\nbind_prot = 1\n[databse]\nconnection = x\n[glance_store]\ndefault_stor = file\n',
    { GLIMPSE_DATABSE__CONNECTION: 'x' });
  const text = warnings.join('\n');
  assert.match(text, /\[DEFAULT\] bind_prot .*did you mean bind_port\?/);
  assert.match(text, /unknown section \[databse\] .*did you mean \[database\]\?/);
  assert.match(text, /\[glance_store\] default_stor .*did you mean default_store\?/);
  assert.match(text, /GLIMPSE_DATABSE__CONNECTION .*did you mean GLIMPSE_DATABASE__CONNECTION\?/);
  assert.doesNotMatch(load('[DEFAULT]\nzzzzzz = 1\n').warnings.join('\n'), /did you mean/, 'no suggestion when nothing is close');
});

test('a missing config file is a ConfigError naming it', () => {
  assert.throws(() => loadConfig({ file: 'nowhere.conf', env: {}, cwd: tmpdir() }),
    (err: unknown) => err instanceof ConfigError && err.message === 'config file nowhere.conf not found');
});

test('values from the file, every type converted', () => {
  const { config, warnings, dir } = load([
    '[DEFAULT]',
    'bind_host = ::',
    'bind_port: 9393',
    'workers = 4',
    'public_endpoint = "https://images.example.com:9292"',
    'image_size_cap = 9007199254740991',
    'user_storage_quota = 10GB',
    'show_image_direct_url = Yes',
    'show_multiple_locations = ON',
    'delayed_delete = 1',
    'enable_v1_api = TRUE',
    'enable_v2_api = off',
    'hashing_algorithm = sha3_256',
    'image_tag_quota = -1',
    'image_cache_dir = cache',
    'debug = true',
    '[database]',
    'connection = mysql+pymysql://glance:secret@db.example.com/glance?charset=utf8',
    '[image_format]',
    'disk_formats = raw , qcow2,, iso ,',
    'container_formats = bare,',
    '    ovf',
    '[healthcheck]',
    'disable_by_file_path = /etc/glimpse/disable',
  ].join('\n'));
  assert.equal(config.sourceFile, join(dir, 'glimpse-api.conf'));
  assert.equal(config.bindHost, '::');
  assert.equal(config.bindPort, 9393);
  assert.equal(config.workers, 4);
  assert.equal(config.publicEndpoint, 'https://images.example.com:9292');
  assert.equal(config.imageSizeCap, Number.MAX_SAFE_INTEGER);
  assert.equal(config.userStorageQuota, 10 * 1024 ** 3);
  assert.deepEqual([config.showImageDirectUrl, config.showMultipleLocations, config.delayedDelete], [true, true, true]);
  assert.deepEqual([config.enableV1Api, config.enableV2Api], [true, false]);
  assert.equal(config.hashingAlgorithm, 'sha3_256');
  assert.equal(config.imageTagQuota, -1);
  assert.equal(config.imageCacheDir, join(dir, 'cache'));
  assert.equal(config.log.level, 'debug');
  assert.equal(config.database.connection, 'mysql+pymysql://glance:secret@db.example.com/glance?charset=utf8');
  assert.deepEqual(config.imageFormat.diskFormats, ['raw', 'qcow2', 'iso']);
  assert.deepEqual(config.imageFormat.containerFormats, ['bare', 'ovf']);
  assert.equal(config.healthcheck.disableByFilePath, '/etc/glimpse/disable');
  assert.deepEqual(warnings, ['[DEFAULT] show_multiple_locations is deprecated; use the locations API of Images API 2.17 instead']);
});

test('bad values: ConfigError naming [section] option, the value, what was expected, and where', () => {
  const err = loadError('[DEFAULT]\n\nbind_port = abc\n');
  assert.equal(err.message, 'invalid value for [DEFAULT] bind_port: "abc" is not an integer (glimpse-api.conf, line 3)');
  assert.equal(err.section, 'DEFAULT');
  assert.equal(err.option, 'bind_port');

  const cases: [string, string, string, RegExp][] = [
    ['DEFAULT', 'bind_port', '70000', /\[DEFAULT\] bind_port: "70000" is not a port number \(0 to 65535\)/],
    ['DEFAULT', 'bind_port', '-1', /"-1" is not a port number/],
    ['DEFAULT', 'bind_host', 'not a host!', /\[DEFAULT\] bind_host: "not a host!" is not an IP address or host name/],
    ['DEFAULT', 'bind_host', '300.1.1.1', /is not an IP address or host name/],
    ['DEFAULT', 'workers', '-1', /\[DEFAULT\] workers: "-1" is less than the minimum 0/],
    ['DEFAULT', 'workers', '2.5', /"2\.5" is not an integer/],
    ['DEFAULT', 'api_limit_max', '0', /\[DEFAULT\] api_limit_max: "0" is less than the minimum 1/],
    ['DEFAULT', 'image_size_cap', '9223372036854775808', /\[DEFAULT\] image_size_cap: "9223372036854775808" is too large/],
    ['DEFAULT', 'image_size_cap', '0', /less than the minimum 1/],
    ['DEFAULT', 'debug', 'maybe', /\[DEFAULT\] debug: "maybe" is not a boolean \(use true\/false, yes\/no, on\/off or 1\/0\)/],
    ['DEFAULT', 'debug', '', /"" is not a boolean/],
    ['DEFAULT', 'user_storage_quota', '10 GB', /\[DEFAULT\] user_storage_quota: "10 GB" is not a size/],
    ['DEFAULT', 'user_storage_quota', '10gb', /is not a size/],
    ['DEFAULT', 'user_storage_quota', '10PB', /is not a size/],
    ['DEFAULT', 'user_storage_quota', '99999999TB', /is too large/],
    ['DEFAULT', 'hashing_algorithm', 'md4', /\[DEFAULT\] hashing_algorithm: "md4" is not one of: md5, sha1, .*sha512/],
    ['DEFAULT', 'hashing_algorithm', 'sha3-256', /is not one of/],
    ['DEFAULT', 'public_endpoint', 'ftp://example.com', /\[DEFAULT\] public_endpoint: "ftp:\/\/example.com" is not a URL with scheme http or https/],
    ['DEFAULT', 'public_endpoint', 'images.example.com', /is not a URL/],
    ['DEFAULT', 'enabled_backends', 'fast', /\[DEFAULT\] enabled_backends: "fast" is not a list of key:value pairs/],
    ['DEFAULT', 'enabled_backends', 'a:file, a:file', /names the key "a" twice/],
    ['DEFAULT', 'enabled_backends', ':file', /empty key/],
    ['database', 'connection', 'oracle://db/glance', /\[database\] connection: .*unsupported scheme 'oracle'/],
    ['database', 'connection', '', /\[database\] connection: /],
    ['glance_store', 'default_store', 'ftp', /\[glance_store\] default_store: "ftp" is not one of: file, filesystem/],
    ['paste_deploy', 'flavor', 'password', /\[paste_deploy\] flavor: "password" is not a flavor/],
    ['paste_deploy', 'flavor', 'keystone+', /is not a flavor/],
  ];
  for (const [section, option, value, expected] of cases) {
    assert.match(valueError(section, option, value), expected, `${option} = ${value}`);
  }
});

test('a database password never appears in an error message', () => {
  const message = valueError('database', 'connection', 'mysql+pymysql://glance:s3cret@db/glance?bogus=1');
  assert.match(message, /\[database\] connection/);
  assert.doesNotMatch(message, /s3cret/);
});

test('a value with what looks like an end-of-line comment gets a hint', () => {
  assert.match(valueError('DEFAULT', 'bind_port', '9292 # port'), /comments must be on their own line/);
});

test('sizes use 1024 multiples, as Glance', () => {
  const quota = (v: string) => load(`[DEFAULT]\nuser_storage_quota = ${v}\n`).config.userStorageQuota;
  assert.deepEqual(['100', '100B', '1KB', '3MB', '2GB', '1TB'].map(quota), [100, 100, 1024, 3 * 1024 ** 2, 2 * 1024 ** 3, 1024 ** 4]);
});

test('empty values: unset for options without a default, [] for lists', () => {
  const { config } = load('[DEFAULT]\npublic_endpoint =\nimage_cache_dir =\n[image_format]\ndisk_formats =\n');
  assert.equal(config.publicEndpoint, undefined);
  assert.equal(config.imageCacheDir, undefined);
  assert.deepEqual(config.imageFormat.diskFormats, []);
});

test('the last of duplicate options wins, across repeated sections too', () => {
  assert.equal(load('[DEFAULT]\nbind_port = 1\nbind_port = 2\n[database]\n[DEFAULT]\nbind_port = 3\n').config.bindPort, 3);
});

test('section names other than DEFAULT are case-insensitive; [default] is not DEFAULT', () => {
  const { config, warnings } = load('[default]\nbind_port = 1\n[Image_Format]\ndisk_formats = raw\n');
  assert.equal(config.bindPort, 9292);
  assert.deepEqual(config.imageFormat.diskFormats, ['raw']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /unknown section \[default\] \(glimpse-api\.conf, line 1\) \(the DEFAULT section must be written in upper case\); ignored, with its options bind_port/);
});

test('unknown sections and options, and Glance options not used yet, are warnings naming section and option', () => {
  const { warnings } = load([
    '[DEFAULT]', 'bind_prot = 1', 'enabled_import_methods = [glance-direct]', 'log_config_append = /etc/glance/logging.conf',
    '[task]', 'task_time_to_live = 48', 'task_executor = taskflow',
    '[no_such_section]', 'x = 1',
    '[paste_deploy]', 'config_file = /etc/glance/glance-api-paste.ini',
    '[glance_store]', 'swift_store_multi_tenant = true', 'bogus = 1',
  ].join('\n'));
  assert.deepEqual(warnings, [
    'unknown option [DEFAULT] bind_prot (glimpse-api.conf, line 2) (did you mean bind_port?); ignored',
    '[DEFAULT] log_config_append is a Glance option Glimpse does not use yet; ignored (glimpse-api.conf, line 4)',
    '[task] task_executor is a Glance option Glimpse does not use yet; ignored (glimpse-api.conf, line 7)',
    'unknown section [no_such_section] (glimpse-api.conf, line 8); ignored, with its options x',
    '[glance_store] swift_store_multi_tenant is a Glance option Glimpse does not use yet; ignored (glimpse-api.conf, line 13)',
    'unknown option [glance_store] bogus (glimpse-api.conf, line 14); ignored',
    '[paste_deploy] config_file is ignored: Glimpse has no paste pipeline file',
  ]);
});

test('limit_param_default above api_limit_max is a warning', () => {
  const { warnings } = load('[DEFAULT]\napi_limit_max = 10\nlimit_param_default = 20\n');
  assert.match(warnings.join('\n'), /limit_param_default \(20\) is larger than api_limit_max \(10\)/);
});

test('turning off both APIs is an error', () => {
  assert.match(loadError('[DEFAULT]\nenable_v1_api = false\nenable_v2_api = false\n').message, /enable_v1_api and enable_v2_api are both false/);
});

test('policy_file: relative to the config file directory; unset finds policy.yaml beside the config file', () => {
  const beside = load('[DEFAULT]\n', {}, { 'policy.yaml': '{}' });
  assert.equal(beside.config.policy.policyFile, join(beside.dir, 'policy.yaml'));
  assert.deepEqual(beside.warnings, []);

  const given = load('[oslo_policy]\npolicy_file = rules.yaml\n', {}, { 'rules.yaml': '{}' });
  assert.equal(given.config.policy.policyFile, join(given.dir, 'rules.yaml'));
  assert.deepEqual(given.warnings, []);

  const missing = load('[oslo_policy]\npolicy_file = /nonexistent/policy.yaml\n');
  assert.equal(missing.config.policy.policyFile, '/nonexistent/policy.yaml');
  assert.match(missing.warnings.join('\n'), /\[oslo_policy\] policy_file \/nonexistent\/policy\.yaml does not exist/);

  assert.equal(load('[DEFAULT]\n').config.policy.policyFile, undefined);
});

test('auth flavors from [paste_deploy] flavor', () => {
  const keystone = '[keystone_authtoken]\nauth_url = http://ks:5000/v3\nusername = g\npassword = p\nproject_name = s\n';
  const load2 = (flavor: string) => load(`[paste_deploy]\nflavor = ${flavor}\n${keystone}`);
  const auth = (flavor: string) => {
    const out = load2(flavor);
    const { keystone: _ks, allowAnonymousAccess: _a, ...rest } = out.config.auth;
    return { ...out, config: { ...out.config, auth: rest } };
  };
  assert.deepEqual(auth('').config.auth, { flavor: 'noauth', flavorSuffixes: [] });
  assert.deepEqual(auth('noauth').config.auth, { flavor: 'noauth', flavorSuffixes: [] });
  assert.deepEqual(auth('keystone').config.auth, { flavor: 'keystone', flavorSuffixes: [] });
  assert.deepEqual(auth('trusted-auth').config.auth, { flavor: 'trusted-auth', flavorSuffixes: [] });
  assert.deepEqual(auth('keystone+cachemanagement').config.auth, { flavor: 'keystone', flavorSuffixes: ['cachemanagement'] });
  assert.deepEqual(auth('trusted-auth+caching').config.auth, { flavor: 'trusted-auth', flavorSuffixes: ['caching'] });
  assert.deepEqual(auth('cachemanagement').config.auth, { flavor: 'noauth', flavorSuffixes: ['cachemanagement'] });
  const odd = auth('keystone+sparkles');
  assert.deepEqual(odd.config.auth, { flavor: 'keystone', flavorSuffixes: ['sparkles'] });
  assert.match(odd.warnings.join('\n'), /suffix "\+sparkles" is not one Glance defines/);
  assert.throws(() => load('[paste_deploy]\nflavor = keystone\n'),
    { message: /\[keystone_authtoken\] auth_url must be set when \[paste_deploy\] flavor = keystone/ });
});
