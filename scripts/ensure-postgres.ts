#!/usr/bin/env node
// The tests' PostgreSQL: waits (up to 60 s) until the server at TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/postgres, trust authentication) answers; starts a local cluster installed
// from Debian's packages when none answers; otherwise says plainly what is missing and exits 1.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { POSTGRES_URL, sleep } from '@chrome-plus/testkit';
import pg from 'pg';

const where = POSTGRES_URL.replace(/\/\/[^@/]*@/, '//***@');

async function answers(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

let failure = await answers();
if (failure === undefined) process.exit(0);
// Debian's clusters (/etc/postgresql/<version>/main), as the development and CI machines have them.
const versions = (() => {
  try {
    return readdirSync('/etc/postgresql');
  } catch {
    return [];
  }
})();
const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(POSTGRES_URL).hostname);
if (
  local &&
  versions.length > 0 &&
  spawnSync('sh', ['-c', 'command -v pg_ctlcluster'], { stdio: 'ignore' }).status === 0
) {
  console.error(`PostgreSQL does not answer at ${where} (${failure}): starting the local cluster...`);
  for (const version of versions)
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
}
const deadline = Date.now() + 60_000;
while (Date.now() < deadline) {
  failure = await answers();
  if (failure === undefined) process.exit(0);
  await sleep(1_000);
}
console.error(
  `PostgreSQL is missing: nothing answers at ${where} (${failure}).\n` +
    'The accounts tests need a PostgreSQL 15 server there with trust authentication for user postgres ' +
    '(e.g. `apt-get install postgresql`, or `docker run -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`), ' +
    'or TEST_POSTGRES_URL pointing at one.',
);
process.exit(1);
