// The accounts tests' stack: two gateways and a worker in this process (the demo model), on a PostgreSQL database
// of their own and a Redis key prefix, with users and device tokens minted in the database. Dropped whole by close().
import { cleanupPrefix, createTestDatabase, type TestDatabase } from '@chrome-plus/testkit';
import { pino } from 'pino';
import { createAccountStore } from '../src/accounts/account-store.ts';
import { type App, startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { type Database, openDatabase } from '../src/db/database.ts';
import { testEnv } from './harness.ts';

export interface AccountsStack {
  database: Database;
  /** ws:// URLs of the two gateways. */
  urls: string[];
  /** The device tokens minted, by the names given. */
  tokens: Record<string, string>;
  close(): Promise<void>;
}

export async function startAccountsStack(options: {
  /** Names the database. */
  name: string;
  prefix: string;
  /** Device tokens to mint: name → [user, device]; every user named is added. */
  devices: Record<string, [string, string]>;
  env: Record<string, string>;
  demoDelayMs?: number;
  sweepIntervalMs?: number;
}): Promise<AccountsStack> {
  const testDatabase: TestDatabase = await createTestDatabase(options.name);
  const database = await openDatabase({ kind: 'postgres', url: testDatabase.url }, { poolSize: 4 });
  const accounts = createAccountStore(database.db);
  const tokens: Record<string, string> = {};
  for (const user of new Set(Object.values(options.devices).map(([user]) => user)))
    await accounts.addUser(user, 'user');
  for (const [name, [user, device]] of Object.entries(options.devices))
    tokens[name] = await accounts.createToken(user, device);
  const config = loadConfig(testEnv(options.prefix, { ...options.env, DATABASE_URL: testDatabase.url }));
  const start = (role: 'gateway' | 'worker') =>
    startApp({
      role,
      config,
      logger: pino({ level: 'silent' }),
      demoDelayMs: options.demoDelayMs ?? 1,
      ...(options.sweepIntervalMs !== undefined && { sweepIntervalMs: options.sweepIntervalMs }),
      database,
    });
  const apps: App[] = await Promise.all([start('gateway'), start('gateway'), start('worker')]);
  const urls = apps.slice(0, 2).map((app) => `ws://127.0.0.1:${app.gateway!.port}/v1/ws`);
  return {
    database,
    urls,
    tokens,
    async close() {
      await Promise.all(apps.map((app) => app.close()));
      await database.close();
      await testDatabase.drop();
      await cleanupPrefix(options.prefix);
    },
  };
}
