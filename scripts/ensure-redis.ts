#!/usr/bin/env node
// Makes sure a Redis answers at REDIS_URL: starts a local redis-server when one is installed and the URL is local,
// installs it with apt-get when we may, and otherwise says plainly how to get one. Exit 0 when Redis answers.
// Unlike a test's Redis, this one outlives the script (daemonized) and keeps its data in .data/redis.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasRedisServer, isLoopbackHost, redisAnswers, redisServerArgs, sleep } from '@chrome-plus/testkit';

const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const parsed = new URL(url);
const port = Number(parsed.port || 6379);

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'inherit' }).status === 0;
}

if (await redisAnswers(url, 2_000)) process.exit(0);
const where = url.replace(/\/\/[^@/]*@/, '//***@');
if (!isLoopbackHost(parsed.hostname)) {
  console.error(
    `Redis does not answer at ${where}. Start it there, or point REDIS_URL at a Redis that runs.`,
  );
  process.exit(1);
}
if (!hasRedisServer()) {
  const root = process.getuid?.() === 0;
  const sudo = !root && has('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if ((root || sudo) && has('apt-get')) {
    console.error('Redis is not installed: installing redis-server with apt-get...');
    const apt = (args: string[]) => (root ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', 'redis-server']);
  }
}
if (!hasRedisServer()) {
  console.error(
    `No Redis answers at ${where}, and redis-server is not installed.\n` +
      'Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis),\n' +
      'or run one in Docker (docker run -d -p 127.0.0.1:6379:6379 redis:7), or set REDIS_URL to a Redis you have.',
  );
  process.exit(1);
}
// A Redis of our own, keeping its data (AOF) in .data/redis so that answers survive a restart.
const dir = fileURLToPath(new URL('../.data/redis/', import.meta.url));
mkdirSync(dir, { recursive: true });
console.error(`Starting redis-server on port ${port} (data in .data/redis)...`);
run('redis-server', [
  ...redisServerArgs(port, dir, 'aof'),
  '--daemonize',
  'yes',
  '--logfile',
  `${dir}redis.log`,
]);
for (let attempt = 0; attempt < 50; attempt++) {
  if (await redisAnswers(url, 2_000)) process.exit(0);
  await sleep(100);
}
console.error(`redis-server did not come up; see ${dir}redis.log`);
process.exit(1);
