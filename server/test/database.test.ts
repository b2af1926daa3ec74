// The database layer on both engines: migrations apply once (also when processes start together), a newer database
// is refused, PGlite's data directory admits one process, and the query layer works the same on each.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createTestDatabase } from '@chrome-plus/testkit';
import { sql } from 'kysely';
import { DataDirInUse } from '../src/db/data-dir-lock.ts';
import { type DatabaseTarget, openDatabase } from '../src/db/database.ts';
import { migrations } from '../src/db/migrations/index.ts';

const versions = migrations.map((migration) => migration.version);
const latest = versions.at(-1)!;

async function targets(): Promise<{ name: string; target: DatabaseTarget; cleanup(): Promise<void> }[]> {
  const postgres = await createTestDatabase('db');
  const dataDir = mkdtempSync(join(tmpdir(), 'cp-pglite-'));
  return [
    { name: 'PostgreSQL', target: { kind: 'postgres', url: postgres.url }, cleanup: () => postgres.drop() },
    {
      name: 'PGlite',
      target: { kind: 'pglite', dataDir },
      cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
    },
  ];
}

const engines = await targets();
after(async () => {
  for (const engine of engines) await engine.cleanup();
});

for (const { name, target } of engines) {
  describe(name, () => {
    test('migrates on first open, not again on the next, and keeps the data', async () => {
      const first = await openDatabase(target);
      assert.deepEqual(first.migrated, versions);
      await first.db.insertInto('users').values({ name: 'alice' }).execute();
      await first.close();
      const second = await openDatabase(target);
      try {
        assert.deepEqual(second.migrated, []);
        const users = await second.db.selectFrom('users').select(['name', 'role', 'disabled']).execute();
        assert.deepEqual(users, [{ name: 'alice', role: 'user', disabled: false }]);
        // A transaction rolled back leaves nothing.
        await assert.rejects(
          second.db.transaction().execute(async (transaction) => {
            await transaction.insertInto('users').values({ name: 'bob' }).execute();
            throw new Error('undo');
          }),
          /undo/,
        );
        const count = await second.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow();
        assert.equal(Number(count.n), 1);
      } finally {
        await second.close();
      }
    });

    if (target.kind === 'pglite')
      test('a second process on the same data directory is refused, naming the holder', async () => {
        // Here, on the directory of the test above: a new one would cost another initdb (seconds).
        if (target.kind !== 'pglite') return;
        const lock = join(target.dataDir, 'chrome-plus.lock');
        // Another live process (our parent) holding the lock is what a second server process would see.
        writeFileSync(lock, String(process.ppid));
        await assert.rejects(
          openDatabase(target),
          (error: unknown) =>
            error instanceof DataDirInUse &&
            error.message.includes(`process ${process.ppid}`) &&
            /DATABASE_URL/.test(error.message),
        );
        // A lock left by a process that is gone is taken over.
        writeFileSync(lock, '999999999');
        const again = await openDatabase(target);
        await again.close();
      });

    test('refuses a database migrated by a newer server', async () => {
      const database = await openDatabase(target);
      await database.db
        .insertInto('schema_migrations')
        .values({ version: latest + 1, name: 'from the future' })
        .execute();
      await database.close();
      await assert.rejects(openDatabase(target), /newer than this server knows/);
    });
  });
}

test('PostgreSQL: processes starting together apply each migration once', async () => {
  const postgres = await createTestDatabase('dbrace');
  try {
    const opened = await Promise.all(
      [1, 2, 3].map(() => openDatabase({ kind: 'postgres', url: postgres.url }, { poolSize: 2 })),
    );
    assert.deepEqual(opened.map((database) => database.migrated.length).sort(), [0, 0, versions.length]);
    const rows = await sql<{
      version: number;
    }>`SELECT version FROM schema_migrations ORDER BY version`.execute(opened[0]!.db);
    assert.deepEqual(
      rows.rows.map((row) => row.version),
      versions,
    );
    await Promise.all(opened.map((database) => database.close()));
  } finally {
    await postgres.drop();
  }
});
