// Every migration, in order. The version is the position; a released migration is never edited or removed.
import accounts from './0001-accounts.ts';
import history from './0002-history.ts';

export interface Migration {
  version: number;
  name: string;
  /** Statements run one by one, in one transaction with the rest of the pending migrations. */
  statements: readonly string[];
}

export const migrations: readonly Migration[] = [
  { version: 1, name: 'accounts', statements: accounts },
  { version: 2, name: 'history', statements: history },
];
