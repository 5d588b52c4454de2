// 0003_metadefs — the metadata definitions catalogue (spec/v2.md §8): namespaces and their
// objects, properties, tags and resource-type associations, plus the resource types themselves.
//
// Same layout as Glance's metadef tables, so definitions carry over: integer surrogate keys
// (insertion order is the tie-breaker of every list, as in Glance), names unique per namespace
// (namespace names and resource type names globally). Children reference their namespace with
// ON DELETE CASCADE, so deleting a namespace is one statement; resource types are never removed
// with a namespace. Object `required` and property/object definitions are JSON text.
//
// Case: MySQL/MariaDB tables use utf8mb4_bin like 0001, so names (tags included) are unique
// case-sensitively on every dialect. That is what the reference Glance answers (it accepts tags
// 'foo' and 'FOO' side by side); only a Glance on MySQL's default *_ci collation differs
// (docs/decisions/0005-metadefs.md).
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

function timestampType(dialect: Dialect) {
  switch (dialect) {
    case 'postgres': return sql`timestamptz(6)`;
    case 'mysql': return sql`datetime(6)`;
    case 'sqlite': return sql`text`;
  }
}

const children = ['metadef_namespace_resource_types', 'metadef_tags', 'metadef_properties', 'metadef_objects'];

export function metadefs(dialect: Dialect): Migration {
  const ts = timestampType(dialect);
  const tableOptions = dialect === 'mysql'
    ? sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin` : sql``;
  // An auto-numbered integer key on each dialect.
  const serialId = (table: ReturnType<Kysely<unknown>['schema']['createTable']>) => (dialect === 'postgres'
    ? table.addColumn('id', 'serial', (c) => c.primaryKey())
    : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()));

  return {
    async up(db: Kysely<unknown>) {
      await serialId(db.schema.createTable('metadef_namespaces'))
        .addColumn('namespace', 'varchar(80)', (c) => c.notNull())
        .addColumn('display_name', 'varchar(80)')
        .addColumn('description', 'text')
        .addColumn('visibility', 'varchar(32)', (c) => c.notNull())
        .addColumn('protected', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('owner', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addUniqueConstraint('uq_metadef_namespaces_namespace', ['namespace'])
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_metadef_namespaces_owner').on('metadef_namespaces').column('owner').execute();
      await db.schema.createIndex('ix_metadef_namespaces_created_at_id').on('metadef_namespaces')
        .columns(['created_at', 'id']).execute();

      await serialId(db.schema.createTable('metadef_resource_types'))
        .addColumn('name', 'varchar(80)', (c) => c.notNull())
        .addColumn('protected', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addUniqueConstraint('uq_metadef_resource_types_name', ['name'])
        .modifyEnd(tableOptions)
        .execute();

      const child = (name: string) => serialId(db.schema.createTable(name))
        .addColumn('namespace_id', 'integer', (c) => c.notNull()
          .references('metadef_namespaces.id').onDelete('cascade'))
        .addColumn('name', 'varchar(80)', (c) => c.notNull());
      await child('metadef_objects')
        .addColumn('description', 'text')
        .addColumn('required', 'text')
        .addColumn('json_schema', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addUniqueConstraint('uq_metadef_objects_namespace_id_name', ['namespace_id', 'name'])
        .modifyEnd(tableOptions)
        .execute();
      await child('metadef_properties')
        .addColumn('json_schema', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addUniqueConstraint('uq_metadef_properties_namespace_id_name', ['namespace_id', 'name'])
        .modifyEnd(tableOptions)
        .execute();
      await child('metadef_tags')
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addUniqueConstraint('uq_metadef_tags_namespace_id_name', ['namespace_id', 'name'])
        .modifyEnd(tableOptions)
        .execute();

      await db.schema.createTable('metadef_namespace_resource_types')
        .addColumn('resource_type_id', 'integer', (c) => c.notNull().references('metadef_resource_types.id'))
        .addColumn('namespace_id', 'integer', (c) => c.notNull()
          .references('metadef_namespaces.id').onDelete('cascade'))
        .addColumn('properties_target', 'varchar(80)')
        .addColumn('prefix', 'varchar(80)')
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_metadef_namespace_resource_types', ['resource_type_id', 'namespace_id'])
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_metadef_ns_res_types_namespace_id')
        .on('metadef_namespace_resource_types').column('namespace_id').execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of [...children, 'metadef_resource_types', 'metadef_namespaces']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
