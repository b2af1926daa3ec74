// Which database a role may open: PostgreSQL anywhere, PGlite only in the one process that runs both roles.
import type { Config } from '../config.ts';
import type { DatabaseTarget } from './database.ts';

export class DatabaseChoiceError extends Error {
  override name = 'DatabaseChoiceError';
}

/** The database the role opens, or undefined for none (DATABASE_URL=none); throws when PGlite cannot serve it. */
export function databaseForRole(
  role: 'gateway' | 'worker' | 'all',
  database: Config['database'],
): DatabaseTarget | undefined {
  if (database.kind === 'none') return undefined;
  if (database.kind === 'pglite' && role !== 'all') {
    throw new DatabaseChoiceError(
      `DATABASE_URL is not set, so accounts and usage live in the embedded database (PGlite, in ${database.dataDir}), which admits one process; this is a separate ${role}. Set DATABASE_URL to a PostgreSQL server that every gateway and worker shares, run both roles in one process (\`npm start\`), or set DATABASE_URL=none to run without accounts (users from AUTH_TOKENS alone, no usage, no quotas).`,
    );
  }
  return database;
}
