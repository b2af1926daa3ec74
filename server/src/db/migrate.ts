// Applies the pending migrations on start, in one transaction under an advisory lock: gateways and workers that
// start together against one PostgreSQL apply each migration once, and a failed one leaves nothing half done.
import { type Kysely, sql } from 'kysely';
import type { Migration } from './migrations/index.ts';
import type { Tables } from './schema.ts';

/** Any constant will do, as long as nothing else on the server takes the same advisory lock. */
const MIGRATION_LOCK = 0x43_50_44_42; // "CPDB"

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Returns the versions it applied. */
export async function migrate(db: Kysely<Tables>, migrations: readonly Migration[]): Promise<number[]> {
  return db.transaction().execute(async (transaction) => {
    await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(transaction);
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`.execute(transaction);
    const rows = await transaction.selectFrom('schema_migrations').select('version').execute();
    const applied = new Set(rows.map((row) => row.version));
    const known = Math.max(0, ...migrations.map((migration) => migration.version));
    const newer = [...applied].filter((version) => version > known);
    if (newer.length > 0) {
      throw new MigrationError(
        `the database has migration ${Math.max(...newer)}, newer than this server knows (${known}): run a server at least as new as the one that migrated it`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) await sql.raw(statement).execute(transaction);
      await transaction
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name })
        .execute();
      done.push(migration.version);
    }
    return done;
  });
}
