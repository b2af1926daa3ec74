// The Redis part of the configuration: one node by default, Sentinel or Cluster by their variables, and errors that
// name the variable at fault (a /db index in cluster mode among them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

test('one node at REDIS_URL is the default, as before', () => {
  const config = loadConfig({});
  assert.deepEqual(config.redis, { mode: 'single', url: 'redis://127.0.0.1:6379' });
  assert.equal(config.redisPubSub, 'auto');
  assert.equal(config.deadlineBuckets, 1);
});

test('REDIS_SENTINELS and REDIS_SENTINEL_NAME choose a Sentinel-managed master', () => {
  const config = loadConfig({
    REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379,rediss://10.0.0.3:26380',
    REDIS_SENTINEL_NAME: 'mymaster',
    REDIS_PASSWORD: 'secret-1',
    REDIS_SENTINEL_PASSWORD: 'secret-2',
    REDIS_DB: '2',
  });
  assert.deepEqual(config.redis, {
    mode: 'sentinel',
    sentinels: [
      { host: '10.0.0.1', port: 26379 },
      { host: '10.0.0.2', port: 26379 },
      { host: '10.0.0.3', port: 26380 },
    ],
    name: 'mymaster',
    tls: true,
    db: 2,
    password: 'secret-1',
    sentinelPassword: 'secret-2',
  });
});

test('REDIS_CLUSTER_NODES chooses a cluster, with sharded Pub/Sub and deadline buckets', () => {
  const config = loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001', REDIS_TLS: 'on', REDIS_USERNAME: 'cp' });
  assert.deepEqual(config.redis, {
    mode: 'cluster',
    nodes: [
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ],
    tls: true,
    username: 'cp',
  });
  assert.equal(config.deadlineBuckets, 16);
});

test('a wrong Redis setting is refused with the variable named', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { REDIS_CLUSTER_NODES: 'a:7000/3' },
      /^REDIS_CLUSTER_NODES selects database 3, but a Redis Cluster has only/,
    ],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://a:7000/1' }, /^REDIS_URL selects database 1/],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_DB: '4' }, /^REDIS_DB selects database 4/],
    [{ REDIS_CLUSTER_NODES: 'a' }, /^REDIS_CLUSTER_NODES entry 1 must be host:port/],
    [{ REDIS_CLUSTER_NODES: ' , ' }, /^REDIS_CLUSTER_NODES must list at least one/],
    [{ REDIS_CLUSTER_NODES: 'a:1', REDIS_PUBSUB: 'classic' }, /^REDIS_PUBSUB=classic is refused/],
    [{ REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 'b:2' }, /^REDIS_SENTINELS and REDIS_CLUSTER_NODES/],
    [{ REDIS_SENTINELS: 'b:2' }, /^REDIS_SENTINEL_NAME must name/],
    [{ REDIS_SENTINEL_NAME: 'm' }, /^REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not/],
    [
      { REDIS_SENTINELS: 'http://b:2', REDIS_SENTINEL_NAME: 'm' },
      /^REDIS_SENTINELS entry 1 must be host:port/,
    ],
    [{ REDIS_PUBSUB: 'fast' }, /^REDIS_PUBSUB must be auto, sharded or classic/],
    [{ DEADLINE_BUCKETS: '0' }, /^DEADLINE_BUCKETS must be a whole number/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${JSON.stringify(env)} threw ${String(error)}`);
        assert.match(error.message, message);
        return true;
      },
    );
  }
});
