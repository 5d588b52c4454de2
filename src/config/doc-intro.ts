// The hand-written part of docs/configuration.md; sample.ts appends the generated reference.

export const DOC_INTRO = `# Configuration

Glimpse reads the configuration file format of OpenStack Glance's \`glance-api.conf\`: the same
INI syntax (oslo.config's) and the same section and option names, so an existing Glance file
can be pointed at Glimpse. Options Glimpse does not use yet are reported as warnings at startup,
never silently dropped.

This page is generated from the option schema in \`src/config/schema.ts\`, together with the
commented sample file [etc/glimpse-api.conf.sample](../etc/glimpse-api.conf.sample). After
changing the schema, run \`npm run gen:config-docs\`; a unit test fails while they differ.

## Where settings come from

Later sources win:

1. built-in defaults (the tables below);
2. the config file given with \`--config-file FILE\`;
3. environment variables \`GLIMPSE_<SECTION>__<OPTION>\`.

With no file and no variables Glimpse runs the *embedded default*: one process on
127.0.0.1:9292, SQLite at \`./data/glimpse.db\`, image files under \`./data/images\`, and
\`noauth\` (every request acts as an administrator) — meant for a laptop, not a network.

## File syntax

- \`[section]\` starts a section. \`DEFAULT\` must be written in upper case; other section
  names are case-insensitive (\`[Glance_Store]\` is \`[glance_store]\`), as in oslo.config.
- \`option = value\` or \`option: value\`; spaces around the name and value are ignored.
  One pair of matching quotes around a value is removed (\`"abc"\` reads as \`abc\`).
- Lines starting with \`#\` or \`;\` are comments. There are no end-of-line comments:
  in \`bind_port = 9292 # port\` the value is \`9292 # port\`.
- A line starting with a space or tab continues the previous value on a new line.
  A blank line or a comment line ends the value.
- An option given twice keeps the last value.
- Booleans: \`true/false\`, \`yes/no\`, \`on/off\`, \`1/0\`, in any case.
- Lists: items separated by commas (or by continuation lines); spaces around items and empty
  items are dropped. Dicts (\`enabled_backends\`): comma-separated \`key:value\` pairs.
- Sizes (\`user_storage_quota\`): digits with an optional \`B\`, \`KB\`, \`MB\`, \`GB\` or \`TB\`
  suffix and no space, in multiples of 1024 (\`500GB\`).
- Integers are exact up to 2^53 − 1 (9007199254740991); larger values are refused.

A syntax error stops Glimpse with the file name and line number.

## Environment variables

\`GLIMPSE_<SECTION>__<OPTION>\` sets one option: the section and option names upper-cased,
with a double underscore between them, and any character other than a letter or digit in the
section name written as \`_\`. Examples: \`GLIMPSE_DEFAULT__BIND_PORT=9393\`,
\`GLIMPSE_DATABASE__CONNECTION=postgresql://glance:secret@db/glance\`,
\`GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND=fast\`, and for a backend section named by
\`enabled_backends\`, \`GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR=/srv/fast\`. Values are taken
verbatim (no quote removal). A \`GLIMPSE_\` variable that names no option gives a warning;
\`GLIMPSE_CONFIG_FILE\` and \`GLIMPSE_TEST_*\` are not options and are left alone.

## Relative paths

Relative paths in \`[database] connection\` (\`sqlite:///data/glimpse.db\`; an absolute path
needs four slashes, \`sqlite:////var/lib/glimpse/glimpse.db\`), \`filesystem_store_datadir\`,
\`image_cache_dir\` and \`disable_by_file_path\` are relative to the working directory of the
process, as they are for Glance. \`[oslo_policy] policy_file\` is relative to the directory of
the config file, where oslo.policy looks for it.

## Errors and warnings

A value that does not fit its option stops Glimpse before it serves anything, with a message
naming the option, the value and where it came from, for example
\`invalid value for [DEFAULT] bind_port: "abc" is not an integer (glimpse-api.conf, line 4)\`.
The value of \`[database] connection\` is never shown with its password.
Unknown sections and options, Glance options Glimpse does not use yet, and deprecated options
are reported as warnings and otherwise ignored.

## Stores

Image data goes to one of two configurations, as in Glance:

- **Multi-store**: \`[DEFAULT] enabled_backends = fast:file, cheap:file\` declares backends by
  id and type; \`[glance_store] default_backend\` names the one that receives new data; each id
  has its own section, e.g. \`[fast]\` with \`filesystem_store_datadir\`. This also turns on
  the multi-store parts of the API (\`/v2/info/stores\`, the \`stores\` image attribute).
- **Single store** (legacy): without \`enabled_backends\`, \`[glance_store]
  filesystem_store_datadir\` is used as one backend with id \`file\`.

\`file\`, \`http\` (read-only), \`swift\`, \`s3\` and \`rbd\` stores have a driver (\`rbd\` needs the
librbd binding, built by \`npm ci\` where librbd-dev is installed; see docs/operations.md). A
backend of another type (\`cinder\`, \`vmware\`) is accepted with a warning and is unavailable,
unless it is the default backend: then Glimpse refuses to start, because every upload would fail.

## Authentication

\`[paste_deploy] flavor\` chooses how requests are authenticated:

| flavor | meaning |
|---|---|
| unset, empty or \`noauth\` | no authentication; every request acts as an administrator |
| \`keystone\` | \`X-Auth-Token\` is validated with Keystone |
| \`trusted-auth\` | identity headers (\`X-User-Id\`, \`X-Tenant-Id\`, \`X-Roles\`, …) set by an authenticating proxy are trusted |

Each may be followed by \`+caching\` or \`+cachemanagement\` (e.g. \`keystone+cachemanagement\`),
as in Glance's pipeline names; Glance's \`caching\` and \`cachemanagement\` on their own mean
\`noauth\` with that suffix. The suffixes do not turn the image cache on: \`[DEFAULT]
image_cache_dir\` does, with any flavor, and then the cache API (\`/v2/cache\`, versions 2.14 and
2.16) is served; \`+cachemanagement\` adds Glance's older cache-management routes
(\`/v2/cached_images\`, \`/v2/queued_images\`).

## Logging

Glimpse reads oslo.log's option names: \`debug\`, \`use_json\`, \`log_file\`, \`log_dir\`,
\`use_syslog\` and \`syslog_log_facility\` (all in \`[DEFAULT]\`). Unless \`use_json\` says
otherwise, the log is text when standard output is a terminal and one JSON object per line
otherwise. docs/operations.md ("Logs") shows both forms and how to rotate the file.

## Checking a file

\`glimpse config check --config-file FILE\` validates the file and prints every option as
\`[section] name = value\` with where the value came from (\`FILE:LINE\`, \`env VARIABLE\` or
\`default\`); \`--changed\` shows only what the file and the environment set, \`--json\` prints
the same as JSON. Misspelt sections and options are warnings with a "did you mean" suggestion.
`;
