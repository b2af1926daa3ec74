// @chrome-plus/testkit: what every package's tests share. It imports no other package of the repository; the
// server's roles are started as processes, by path.
export {
  type ChatRequestBody,
  type FakeAnswer,
  type FakeBehaviour,
  type FakeError,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  fakeBehaviours,
  lastUserText,
  markerBehaviour,
  type RecordedRequest,
  startFakeOpenAI,
} from './fake-openai-server.ts';
export {
  type FakeSearch,
  type FakeSearchBehaviour,
  type FakeSearchRequest,
  type FakeSearchResult,
  fakeResultsFor,
  startFakeSearch,
} from './fake-search-server.ts';
export { crc32, makeDocx, makePdf, makePng, makeZipBombDocx } from './fixture-files.ts';
export { freePort, portIsFree } from './ports.ts';
export { createTestDatabase, POSTGRES_URL, type TestDatabase } from './postgres.ts';
export { cleanupPrefix, testPrefix } from './prefix.ts';
export {
  cpuSeconds,
  type Exit,
  type ManagedProcess,
  rssKiB,
  type StartProcessOptions,
  startProcess,
} from './processes.ts';
export {
  ensureRedis,
  hasRedisServer,
  isLoopbackHost,
  type OwnRedis,
  type OwnRedisOptions,
  REDIS_URL,
  type RedisPersistence,
  redisAnswers,
  redisServerArgs,
  startOwnRedis,
} from './redis.ts';
export {
  freeRedisPorts,
  type OwnRedisCluster,
  type RedisClusterOptions,
  startRedisCluster,
  withNode,
} from './redis-cluster.ts';
export { type OwnRedisSentinel, type RedisSentinelOptions, startRedisSentinel } from './redis-sentinel.ts';
export { repoRoot } from './repo.ts';
export { Fleet, launchRole, type Role, type RoleOptions, type RoleProcess, startRole } from './roles.ts';
export { type Stack, type StackOptions, type StackProcess, type StackRole, startStack } from './stack.ts';
export { sleep, type UntilOptions, until } from './wait.ts';
