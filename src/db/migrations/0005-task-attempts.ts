// 0005_task_attempts — how often a task was claimed, for the task engine (src/tasks/).
//
// 0001 already has the lease columns (lease_owner, lease_expires_at). A task whose worker keeps
// dying (a poison input that crashes the process) would be taken over forever; `attempts` counts
// the claims so the engine fails such a task after a bounded number of takeovers.
import type { Kysely, Migration } from 'kysely';

export function taskAttempts(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('tasks').addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('tasks').dropColumn('attempts').execute();
    },
  };
}
