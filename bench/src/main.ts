// `npm run bench [-- --quick] [--targets system,direct] [--scenarios single,concurrency] [--streams 200,500]
//   [--redis-pubsub classic] [--compare FILE] [--profile] [--server-src DIR] [--coalesce-ms N] [--workers N] [--idle-sockets N] [--svg FILE]
//   [--render] [--translate]`
// Starts the model server, then each target (the real system and the baselines) as separate processes, drives them
// from a separate load-generator process, prints the figures and the targets, writes bench/results/<time>.json and
// an SVG plot. The `system-cluster` target runs on a Redis Cluster of its own (3 masters, 3 replicas, started by
// testkit on free ports in a temporary folder, stopped and removed after it); every target's Redis commands are
// counted per node over each measured window. The `system-history` target (issue 17's sync benchmark) runs the
// server's own entry on a PostgreSQL database of its own (testkit's createTestDatabase), dropped after it. `--report FILE [--compare FILE] [--markdown]` prints the tables of an existing results file without
// running anything. `--render` adds the extension's rendering benchmark to a partial run, `--translate` the time to
// translate a 500-paragraph page (issue 18) with one worker process and with four; a plain full run has both.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import {
  createTestDatabase,
  hasRedisServer,
  type OwnRedisCluster,
  repoRoot,
  startRedisCluster,
  type TestDatabase,
} from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { buildServers } from './build-servers.ts';
import { renderAvailable, runRender } from './extension-render.ts';
import { plotResults } from './plot.ts';
import { baseEnv, type Service, spawnService, useBundles } from './processes.ts';
import type { RedisNodeProbe } from './redis-commands.ts';
import { connectRedis, deleteKeys, redisVersion } from './redis-keys.ts';
import {
  checkTargets,
  commandsTable,
  compareTable,
  figuresTable,
  renderLine,
  targetsTable,
} from './report.ts';
import type { BenchResults, Conditions, TargetResults } from './results.ts';
import {
  type Context,
  PLANS,
  runCapacity,
  runConcurrency,
  runIdle,
  runLength,
  runSingle,
  runThroughput,
  runTtft,
  runTtftIdle,
  type ScenarioName,
} from './scenarios.ts';
import { runSync } from './sync/run-sync.ts';
import { syncLines } from './sync/sync-report.ts';
import { type RunningTarget, startTarget, TARGETS, type TargetName } from './targets.ts';
import { runTranslateBench, translateLines } from './translate/run-translate.ts';

interface Options {
  quick: boolean;
  targets: TargetName[];
  scenarios: ScenarioName[] | undefined;
  /** REDIS_PUBSUB of the one-node system targets (the cluster has only sharded Pub/Sub). */
  redisPubSub: string | undefined;
  /** Only these stream counts of the concurrency scenario. */
  streams: number[] | undefined;
  compare: string | undefined;
  report: string | undefined;
  profile: boolean;
  svg: string | undefined;
  idleSockets: number | undefined;
  serverSource: string | undefined;
  /** How long a delta may linger in the `system` target's coalescer (default: app.ts's default). */
  coalesceMs: number | undefined;
  workers: number | undefined;
  render: boolean;
  translate: boolean;
  /** With --report: print the tables as markdown (for docs/benchmarks.md). */
  markdown: boolean;
}

function parseArguments(argv: string[]): Options {
  const options: Options = {
    quick: false,
    // The 1 ms window was experiment E1's question, answered in docs/benchmarks.md: `--targets system-1ms` runs it.
    targets: (Object.keys(TARGETS) as TargetName[]).filter((name) => name !== 'system-1ms'),
    scenarios: undefined,
    streams: undefined,
    redisPubSub: undefined,
    compare: undefined,
    report: undefined,
    profile: false,
    svg: undefined,
    idleSockets: undefined,
    serverSource: undefined,
    coalesceMs: undefined,
    workers: undefined,
    render: false,
    translate: false,
    markdown: false,
  };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${argument} needs a value`);
      return next;
    };
    switch (argument) {
      case '--quick':
        options.quick = true;
        break;
      case '--targets':
        options.targets = value().split(',') as TargetName[];
        for (const name of options.targets)
          if (!(name in TARGETS))
            throw new Error(`unknown target "${name}" (${Object.keys(TARGETS).join(', ')})`);
        break;
      case '--scenarios':
        options.scenarios = value().split(',') as ScenarioName[];
        break;
      case '--streams':
        options.streams = value().split(',').map(Number);
        if (options.streams.some((count) => !Number.isInteger(count) || count <= 0))
          throw new Error('--streams takes stream counts, e.g. 200 or 100,500');
        break;
      case '--redis-pubsub':
        options.redisPubSub = value();
        if (!['auto', 'sharded', 'classic'].includes(options.redisPubSub))
          throw new Error('--redis-pubsub takes auto, sharded or classic');
        break;
      case '--compare':
        options.compare = value();
        break;
      case '--report':
        options.report = value();
        break;
      case '--markdown':
        options.markdown = true;
        break;
      case '--render':
        options.render = true;
        break;
      case '--translate':
        options.translate = true;
        break;
      case '--profile':
        options.profile = true;
        break;
      case '--svg':
        options.svg = value();
        break;
      case '--server-src':
        options.serverSource = resolve(value());
        break;
      case '--workers':
        options.workers = Number(value());
        break;
      case '--coalesce-ms':
        options.coalesceMs = Number(value());
        break;
      case '--idle-sockets':
        options.idleSockets = Number(value());
        break;
      default:
        throw new Error(`unknown argument "${argument}"`);
    }
  }
  return options;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function otherBusyProcesses(): string[] {
  try {
    const output = execFileSync('ps', ['-eo', 'pcpu,etimes,args', '--sort=-pcpu', '--no-headers'], {
      encoding: 'utf8',
    });
    return output
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => Number(line.split(/\s+/)[0]) >= 5 && !line.includes('bench/src'))
      .slice(0, 8)
      .map((line) => line.slice(0, 160));
  } catch {
    return [];
  }
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'server', 'protocol'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? head : `${head} (server/protocol with uncommitted changes)`;
  } catch {
    return 'unknown';
  }
}

function printReport(results: BenchResults, previous: BenchResults | undefined, markdown = false): void {
  log("\nFigures (ratios: Chrome Plus with app.ts's default coalescing ÷ each baseline)\n");
  log(figuresTable(results, markdown));
  if (results.render !== undefined) {
    log('\nExtension rendering (main-thread ms per 1,000 tokens of a 20,000-token answer)\n');
    log('skipped' in results.render ? `  ${results.render.skipped}` : renderLine(results.render));
  }
  if (results.translate !== undefined) {
    log('\nPage translation (issue 18): 500 paragraphs, each batch one request, the model at 5 ms a word\n');
    log(
      'skipped' in results.translate ? `  ${results.translate.skipped}` : translateLines(results.translate),
    );
  }
  log(
    '\nRedis commands per node over each measured window (INFO commandstats deltas; the Redis CPU from INFO cpu)\n',
  );
  log(commandsTable(results, markdown));
  const sync = results.targets['system-history']?.sync;
  if (sync !== undefined) {
    log('\nHistory sync of a heavy user (issue 17)\n');
    log(syncLines(sync));
  }
  log('\nTargets\n');
  log(targetsTable([...checkTargets(results, 'system'), ...checkTargets(results, 'system-1ms')], markdown));
  if (previous !== undefined) {
    log(`\nCompared with the run of ${previous.startedAt} (${previous.mode})\n`);
    log(compareTable(results, previous));
  }
}

async function run(options: Options): Promise<void> {
  if (options.report !== undefined) {
    const results = JSON.parse(readFileSync(options.report, 'utf8')) as BenchResults;
    const previous =
      options.compare === undefined
        ? undefined
        : (JSON.parse(readFileSync(options.compare, 'utf8')) as BenchResults);
    printReport(results, previous, options.markdown);
    return;
  }
  const plan = structuredClone(PLANS[options.quick ? 'quick' : 'full']);
  if (options.idleSockets !== undefined) plan.idleSockets = options.idleSockets;
  if (options.streams !== undefined) plan.concurrency.streams = options.streams;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = connectRedis(redisUrl);
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const runId = Date.now().toString(36);
  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const profileDir = options.profile ? join(resultsDir, 'profiles', stamp) : undefined;
  const buildDir = join(resultsDir, 'build', stamp);
  const conditions: Conditions = {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    loadAverageBefore: loadavg().map((value) => Math.round(value * 100) / 100),
    loadAverageAfter: [],
    node: process.version,
    redis: await redisVersion(redis),
    commit:
      options.serverSource === undefined ? commit() : `${commit()}, server from ${options.serverSource}`,
    otherBusyProcesses: otherBusyProcesses(),
  };
  log(
    `bench ${plan.mode}: ${conditions.cores} cores, load average ${conditions.loadAverageBefore.join(' ')}, Redis ${conditions.redis}, commit ${conditions.commit}`,
  );
  if (conditions.otherBusyProcesses.length > 0)
    log(`busy beside the bench:\n  ${conditions.otherBusyProcesses.join('\n  ')}`);

  const results: BenchResults = {
    version: 1,
    mode: plan.mode,
    startedAt: startedAt.toISOString(),
    durationSeconds: 0,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    conditions,
    targets: {},
  };

  // Whatever happens, stop what we started and delete our keys.
  const prefixes: string[] = [];
  let model: Service | undefined;
  let running: RunningTarget | undefined;
  let cluster: OwnRedisCluster | undefined;
  let clusterProbes: RedisNodeProbe[] = [];
  // The history target's PostgreSQL database, created for it and dropped after it.
  let database: TestDatabase | undefined;
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  const dropDatabase = async () => {
    await database?.drop().catch(() => {});
    database = undefined;
  };
  const stopCluster = async () => {
    for (const probe of clusterProbes) probe.redis.disconnect();
    clusterProbes = [];
    await cluster?.destroy().catch(() => {});
    cluster = undefined;
  };
  const cleanUp = async () => {
    await running?.stop().catch(() => {});
    await stopCluster();
    await dropDatabase();
    await model?.stop().catch(() => {});
    for (const prefix of prefixes) await deleteKeys(redis, prefix).catch(() => 0);
    rmSync(buildDir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping the processes and deleting the keys of this run');
    cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    log(
      `building the processes' bundles${options.serverSource === undefined ? '' : ` (server/src from ${options.serverSource})`}`,
    );
    useBundles(await buildServers(buildDir, options.serverSource));
    model = await spawnService({
      name: 'model',
      entry: 'model-server',
      env: { ...baseEnv(), PORT: '0' },
      cpuProfileDir: profileDir,
    });
    const modelUrl = `http://127.0.0.1:${model.port}/v1`;
    for (const [index, name] of options.targets.entries()) {
      const scenarios = plan.scenarios[name].filter(
        (scenario) => options.scenarios?.includes(scenario) ?? true,
      );
      if (scenarios.length === 0) continue;
      const keyPrefix = `bench${runId}t${index}`;
      prefixes.push(keyPrefix);
      log(`\n== ${TARGETS[name].label}: ${TARGETS[name].description}`);
      const target: TargetResults = {
        label: TARGETS[name].label,
        description: TARGETS[name].description,
        failures: [],
      };
      results.targets[name] = target;
      let redisNodes: RedisNodeProbe[] = [{ label: `${new URL(redisUrl).host} (shared)`, redis }];
      try {
        if (name === 'system-cluster') {
          if (!hasRedisServer()) throw new Error('redis-server is not installed: no cluster to start');
          log('  starting a Redis Cluster of 3 masters and 3 replicas (testkit)');
          cluster = await startRedisCluster();
          const masters = await cluster.topology();
          clusterProbes = masters.map(({ port }) => ({
            label: `127.0.0.1:${port}`,
            redis: new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 2 }),
          }));
          redisNodes = clusterProbes;
          target.redis = {
            mode: 'cluster',
            masters: masters.map(({ port }) => `127.0.0.1:${port}`),
            replicas: masters.reduce((sum, master) => sum + master.replicas.length, 0),
            version: await redisVersion(clusterProbes[0]!.redis),
            note: `its own cluster in ${cluster.directory}, removed afterwards`,
          };
          log(`  cluster up: masters ${target.redis.masters.join(', ')}, ${target.redis.replicas} replicas`);
        } else {
          if (name === 'system-history') {
            database = await createTestDatabase('benchsync');
            log(`  a PostgreSQL database of its own: ${database.name} (dropped afterwards)`);
          }
          target.redis = {
            mode: 'single',
            masters: [new URL(redisUrl).host],
            replicas: 0,
            version: conditions.redis,
            note: 'the machine’s Redis at REDIS_URL, shared with whatever else uses it',
          };
        }
        running = await startTarget(name, {
          redisUrl,
          keyPrefix,
          modelUrl,
          cpuProfileDir: profileDir,
          coalesceMs: options.coalesceMs,
          workers: options.workers,
          clusterNodes: cluster?.nodesEnv,
          redisPubSub: options.redisPubSub,
          databaseUrl: database?.url,
          adminToken,
        });
      } catch (error) {
        target.failures.push(`start: ${(error as Error).message}`);
        log(`  could not start: ${(error as Error).message}`);
        await running?.stop().catch(() => {});
        running = undefined;
        await stopCluster();
        await dropDatabase();
        continue;
      }
      const context: Context = { target: running, model, redis, redisNodes, keyPrefix, log };
      for (const scenario of scenarios) {
        log(`- ${scenario}`);
        try {
          switch (scenario) {
            case 'idle':
              target.idle = await runIdle(context, plan.idleSockets);
              break;
            case 'single':
              target.single = await runSingle(context, plan);
              break;
            case 'ttft':
              target.ttft = await runTtft(context, plan);
              break;
            case 'ttft-idle':
              target.ttftIdle = await runTtftIdle(context, plan);
              break;
            case 'throughput':
              target.throughput = await runThroughput(context, plan);
              break;
            case 'capacity':
              target.capacity = await runCapacity(context, plan);
              break;
            case 'concurrency':
              target.concurrency = await runConcurrency(context, plan);
              break;
            case 'length':
              target.length = await runLength(context, plan);
              break;
            case 'sync':
              target.sync = await runSync(context, plan.sync, { databaseUrl: database!.url, adminToken });
              break;
          }
        } catch (error) {
          target.failures.push(`${scenario}: ${(error as Error).message}`);
          log(`  failed: ${(error as Error).message}`);
        }
      }
      await running.stop();
      running = undefined;
      if (cluster !== undefined) {
        await stopCluster();
        log('  stopped; the cluster stopped and its folder removed');
      } else {
        if (database !== undefined) {
          await dropDatabase();
          log('  dropped its database');
        }
        const deleted = await deleteKeys(redis, keyPrefix);
        log(`  stopped; deleted ${deleted} keys of ${keyPrefix}`);
      }
    }
    const renderWanted = options.render || (plan.mode === 'full' && options.scenarios === undefined);
    if (renderWanted) {
      log(
        '\n== Extension rendering (item 5): a 20,000-token markdown answer into the side panel in Chromium',
      );
      const unavailable = renderAvailable();
      if (unavailable !== undefined) {
        results.render = { skipped: unavailable };
        log(`  skipped: ${unavailable}`);
      } else {
        const keyPrefix = `bench${runId}r`;
        prefixes.push(keyPrefix);
        try {
          running = await startTarget('system', {
            redisUrl,
            keyPrefix,
            modelUrl,
          });
          results.render = await runRender(running, { tokens: 20_000, intervalMs: 1, log });
        } catch (error) {
          results.render = { skipped: `failed: ${(error as Error).message}` };
          log(`  failed: ${(error as Error).message}`);
        }
        await running?.stop();
        running = undefined;
      }
    }
    if (options.translate || (plan.mode === 'full' && options.scenarios === undefined)) {
      log('\n== Page translation (issue 18): a 500-paragraph page, one worker process and four');
      try {
        results.translate = await runTranslateBench();
        log(translateLines(results.translate));
      } catch (error) {
        results.translate = { skipped: `failed: ${(error as Error).message}` };
        log(`  failed: ${(error as Error).message}`);
      }
    }
  } finally {
    await cleanUp();
  }

  conditions.loadAverageAfter = loadavg().map((value) => Math.round(value * 100) / 100);
  results.durationSeconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const file = join(resultsDir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  // Beside the JSON, ignored by git: a run leaves the tree as it was. The docs' plot is rewritten only when asked
  // (`--svg docs/benchmarks.svg`).
  const svgPath = options.svg ?? join(resultsDir, `${stamp}.svg`);
  writeFileSync(svgPath, plotResults(results));

  const comparePath = options.compare;
  const previous =
    comparePath !== undefined && existsSync(comparePath)
      ? (JSON.parse(readFileSync(comparePath, 'utf8')) as BenchResults)
      : undefined;
  printReport(results, previous);
  log(
    `\nresults: ${relative(process.cwd(), file)}; plot: ${relative(process.cwd(), svgPath)}; ${results.durationSeconds} s; load average after ${conditions.loadAverageAfter.join(' ')}`,
  );
  if (profileDir !== undefined)
    log(
      `CPU profiles: ${relative(process.cwd(), profileDir)} (summarise with: node --import tsx bench/src/profile-summary.ts FILE)`,
    );
  redis.disconnect();
}

run(parseArguments(process.argv.slice(2))).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
