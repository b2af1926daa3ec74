// A PostgreSQL database of a test's own on the shared server (127.0.0.1:5432, trust authentication, user postgres,
// as Redis is shared): created with a unique name, dropped after, whatever the test left connected to it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server's maintenance database; TEST_POSTGRES_URL overrides it. */
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** The URL of the new database, for DATABASE_URL. */
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `no PostgreSQL at ${POSTGRES_URL.replace(/\/\/[^@/]*@/, '//***@')} (${(error as Error).message}): start one (PostgreSQL 15, trust authentication for user postgres on 127.0.0.1:5432) or set TEST_POSTGRES_URL`,
    );
  }
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** Creates a database named after `label` and a random suffix. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `cp_test_${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  // A name of [a-z0-9_] only, made here: safe to put in DDL, which takes no parameters.
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
