#!/usr/bin/env node
// Makes sure a Redis answers at REDIS_URL: starts a local redis-server when one is installed and the URL is local,
// installs it with apt-get when we may, and otherwise says plainly how to get one. Exit 0 when Redis answers.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const parsed = new URL(url);
const port = Number(parsed.port || 6379);
const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(parsed.hostname);

async function answers() {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, args) {
  return spawnSync(command, args, { stdio: 'inherit' }).status === 0;
}

if (await answers()) process.exit(0);
const where = url.replace(/\/\/[^@/]*@/, '//***@');
if (!local) {
  console.error(
    `Redis does not answer at ${where}. Start it there, or point REDIS_URL at a Redis that runs.`,
  );
  process.exit(1);
}
if (!has('redis-server')) {
  const root = process.getuid?.() === 0;
  const sudo = !root && has('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if ((root || sudo) && has('apt-get')) {
    console.error('Redis is not installed: installing redis-server with apt-get...');
    const apt = (args) => (root ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', 'redis-server']);
  }
}
if (!has('redis-server')) {
  console.error(
    `No Redis answers at ${where}, and redis-server is not installed.\n` +
      'Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis),\n' +
      'or run one in Docker (docker run -d -p 127.0.0.1:6379:6379 redis:7), or set REDIS_URL to a Redis you have.',
  );
  process.exit(1);
}
// A Redis of our own, keeping its data (AOF) in .data/redis so that answers survive a restart.
const dir = new URL('../.data/redis/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
console.error(`Starting redis-server on port ${port} (data in .data/redis)...`);
run('redis-server', [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--daemonize',
  'yes',
  '--dir',
  dir,
  '--appendonly',
  'yes',
  '--save',
  '',
  '--maxmemory-policy',
  'noeviction',
  '--logfile',
  `${dir}redis.log`,
]);
for (let attempt = 0; attempt < 50; attempt++) {
  if (await answers()) process.exit(0);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.error(`redis-server did not come up; see ${dir}redis.log`);
process.exit(1);
