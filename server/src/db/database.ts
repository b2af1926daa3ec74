// The accounts database: PostgreSQL at DATABASE_URL, shared by every process of a deployment, or PGlite (Postgres in
// WebAssembly) in DATA_DIR for a single process. Opened, migrated and closed here; queried through Kysely.
import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import { migrate } from './migrate.ts';
import { migrations } from './migrations/index.ts';
import { createPGliteDialect } from './pglite-dialect.ts';
import type { Tables } from './schema.ts';

export type DatabaseTarget = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };

export interface Database {
  readonly db: Kysely<Tables>;
  readonly kind: DatabaseTarget['kind'];
  /** Migration versions this start applied. */
  readonly migrated: readonly number[];
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Connections of the PostgreSQL pool. */
  poolSize?: number;
  onPoolError?(error: Error): void;
}

/** Opens the database and applies the pending migrations. */
export async function openDatabase(
  target: DatabaseTarget,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  let db: Kysely<Tables>;
  let release = () => {};
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: options.poolSize ?? 10 });
    // An idle connection that the server drops emits here; without a listener it would crash the process.
    pool.on('error', (error) => options.onPoolError?.(error));
    db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  } else {
    mkdirSync(target.dataDir, { recursive: true });
    release = lockDataDir(target.dataDir);
    try {
      // Loaded only here: a deployment on PostgreSQL never pays for the WebAssembly module.
      const { PGlite } = await import('@electric-sql/pglite');
      const pglite = new PGlite(target.dataDir);
      db = new Kysely<Tables>({ dialect: createPGliteDialect(pglite) });
    } catch (error) {
      release();
      throw error;
    }
  }
  let migrated: number[];
  try {
    migrated = await migrate(db, migrations);
  } catch (error) {
    await db.destroy().catch(() => {});
    release();
    throw error;
  }
  return {
    db,
    kind: target.kind,
    migrated,
    async close() {
      await db.destroy();
      release();
    },
  };
}
