// SQLAlchemy-style `[database] connection` URLs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDatabaseUrl, redactUrl } from '../../src/db/url.ts';

describe('parseDatabaseUrl', () => {
  test('SQLite: relative, absolute and in-memory forms', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite:///data/glimpse.db', '/srv/app'), { dialect: 'sqlite', file: '/srv/app/data/glimpse.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite:////var/lib/glance/glance.sqlite', '/srv'), { dialect: 'sqlite', file: '/var/lib/glance/glance.sqlite' });
    assert.deepEqual(parseDatabaseUrl('sqlite://'), { dialect: 'sqlite', file: ':memory:' });
    assert.deepEqual(parseDatabaseUrl('sqlite:///:memory:'), { dialect: 'sqlite', file: ':memory:' });
    assert.deepEqual(parseDatabaseUrl('sqlite:///glance.db?timeout=10', '/x'), { dialect: 'sqlite', file: '/x/glance.db' });
  });

  test('PostgreSQL with driver suffixes, defaults and libpq parameters', () => {
    for (const scheme of ['postgresql', 'postgres', 'postgresql+psycopg2']) {
      const s = parseDatabaseUrl(`${scheme}://glance:s%40cr%3At@db.example.org:6432/glance`);
      assert.equal(s.dialect, 'postgres');
      if (s.dialect !== 'postgres') return;
      assert.deepEqual([s.host, s.port, s.user, s.password, s.database], ['db.example.org', 6432, 'glance', 's@cr:t', 'glance']);
    }
    const s = parseDatabaseUrl('postgresql://u@[::1]/db?sslmode=verify-full&connect_timeout=3&options=-c%20search_path%3Dglance');
    assert.equal(s.dialect, 'postgres');
    if (s.dialect !== 'postgres') return;
    assert.deepEqual([s.host, s.port, s.password, s.connectTimeoutMs, s.options], ['::1', 5432, undefined, 3000, '-c search_path=glance']);
    assert.deepEqual(s.tls, { verify: true });
    const socket = parseDatabaseUrl('postgresql:///glance?host=/var/run/postgresql');
    assert.equal(socket.dialect === 'postgres' && socket.host, '/var/run/postgresql');
  });

  test('MySQL and MariaDB; charset is accepted (the connection always uses utf8mb4)', () => {
    for (const scheme of ['mysql', 'mysql+pymysql', 'mariadb', 'mariadb+pymysql']) {
      const s = parseDatabaseUrl(`${scheme}://glance:pw@10.0.0.5/glance?charset=utf8`);
      assert.equal(s.dialect, 'mysql');
      if (s.dialect !== 'mysql') return;
      assert.deepEqual([s.host, s.port, s.user, s.password, s.database, s.tls], ['10.0.0.5', 3306, 'glance', 'pw', 'glance', undefined]);
    }
    const s = parseDatabaseUrl('mysql+pymysql://root@localhost/glance?unix_socket=/run/mysqld/mysqld.sock&ssl_ca=/etc/ca.pem');
    assert.equal(s.dialect === 'mysql' && s.socketPath, '/run/mysqld/mysqld.sock');
    assert.deepEqual(s.dialect === 'mysql' && s.tls, { verify: true, caFile: '/etc/ca.pem' });
  });

  test('bad URLs are refused with a message that names the problem and hides the password', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /expected <dialect>/],
      ['glance.db', /expected <dialect>/],
      ['oracle://u:hunter2@h/db', /unsupported scheme 'oracle'/],
      ['mysql://u:hunter2@h', /must name a database/],
      ['mysql://u:hunter2@h:99999/db', /port/],
      ['postgresql://u:hunter2@h/db?sslmode=sometimes', /sslmode/],
      ['postgresql://u:hunter2@h/db?pool_size=3', /unsupported query parameter 'pool_size'/],
      ['sqlite://host/x.db', /no host/],
      ['postgresql://u:hunter2@h/a/b', /database name/],
    ];
    for (const [url, reason] of cases) {
      assert.throws(() => parseDatabaseUrl(url), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /^Invalid database connection URL/);
        assert.match(error.message, reason, url);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      });
    }
  });
});

describe('redactUrl', () => {
  test('replaces the password, keeps everything else', () => {
    assert.equal(redactUrl('mysql+pymysql://glance:hunter2@db/glance?charset=utf8'), 'mysql+pymysql://glance:***@db/glance?charset=utf8');
    assert.equal(redactUrl('postgresql://glance:p%40ss@db:5432/glance'), 'postgresql://glance:***@db:5432/glance');
    assert.equal(redactUrl('postgresql://glance:p@ss@db/glance'), 'postgresql://glance:***@db/glance');
    assert.equal(redactUrl('postgresql://db/glance?user=g&password=hunter2&x=1'), 'postgresql://db/glance?user=g&password=***&x=1');
    assert.equal(redactUrl('postgresql://glance@db/glance'), 'postgresql://glance@db/glance');
    assert.equal(redactUrl('sqlite:////var/lib/a@b/glance.db'), 'sqlite:////var/lib/a@b/glance.db');
    assert.equal(redactUrl('not a url'), 'not a url');
  });
});
