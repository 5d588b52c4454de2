// Lint rules, including the import rules of the house (DESIGN.md "The house"):
// domain/ imports nothing outside itself, services/ never touch fastify/kysely/drivers,
// only http/ imports fastify, only db/ imports kysely and SQL drivers, v1 and v2 never meet.
// (A rule set twice for one file is replaced, not merged, so each folder gets one full list.)
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sql = ['kysely', 'kysely/*', 'better-sqlite3', 'pg', 'mysql2', 'mysql2/*'];
const noFastify = { group: ['fastify', '@fastify/*'], message: 'Only src/http/ imports fastify.' };
const noSql = { group: sql, message: 'Only src/db/ imports kysely and SQL drivers.' };

const folders = {
  'src/domain/**/*.ts': [noFastify, noSql,
    { regex: '^(\\.\\./(?!i18n/message\\.ts$)|node:|pino$)',
      message: 'domain/ imports only itself (and i18n/message.ts) and does no I/O.' }],
  'src/ports/**/*.ts': [noFastify, noSql,
    { regex: '^\\.\\./(?!domain/|i18n/message\\.ts$)', message: 'ports/ imports only domain/.' }],
  'src/{services,policy,quota}/**/*.ts': [noFastify, noSql,
    { group: ['../db/*', '../stores/*/*', '../identity/*', '../http/*'],
      message: 'services/ depend on ports, never on HTTP, SQL or concrete drivers.' }],
  'src/http/v2/**/*.ts': [noSql, { group: ['../v1/*', '../../v1/*'], message: 'v2 never imports v1.' }],
  'src/http/v1/**/*.ts': [noSql, { group: ['../v2/*', '../../v2/*'], message: 'v1 never imports v2.' }],
  'src/http/*.ts': [noSql],
  'src/db/**/*.ts': [noFastify],
  // migrate/ moves rows from a Glance database into Glimpse's: a database-to-database tool like db/.
  'src/migrate/**/*.ts': [noFastify],
  'src/{config,i18n,lib,cli,identity,stores,tasks,formats,cache}/**/*.ts': [noFastify, noSql],
  // net/ (the SSRF-safe outbound fetcher) is used by services/ and stores/; it knows nothing of HTTP serving or SQL.
  'src/net/**/*.ts': [noFastify, noSql,
    { group: ['../http/*', '../db/*', '../services/*', '../stores/*'], message: 'net/ is a leaf: it must not import http/, db/, services/ or stores/.' }],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', '.tmp/', 'dist/', 'native/*/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['bin/**/*.js', 'scripts/**/*.js', 'native/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...Object.entries(folders).map(([files, patterns]) => ({
    files: [files],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  })),
);
