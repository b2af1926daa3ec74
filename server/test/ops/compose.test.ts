// The container files hold what operations rely on: docker-compose.yml validates and keeps Redis durable
// (AOF, noeviction), workers scalable and health-gated; the Dockerfile and .env.example cover every workspace and
// every variable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '@chrome-plus/testkit';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((directory) => existsSync(join(directory, command)));
}

const composeMissing = onPath('docker-compose')
  ? false
  : 'docker-compose is not installed (Debian: apt-get install -y docker-compose); the file is not validated';

// An empty env file: a developer's .env must not decide the outcome.
const emptyEnvFile = join(mkdtempSync(join(tmpdir(), 'chrome-plus-compose-')), 'empty.env');
writeFileSync(emptyEnvFile, '');

/** `docker-compose …` in the repository, with no .env of the developer's and only the variables given. */
function compose(args: string[], env: Record<string, string> = {}) {
  return spawnSync('docker-compose', ['--env-file', emptyEnvFile, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
  });
}

interface ComposeService {
  image?: string;
  command?: string[] | string;
  ports?: (string | { published?: string | number; host_ip?: string })[];
  container_name?: string;
  depends_on?: Record<string, { condition?: string }> | string[];
  environment?: Record<string, string | number | null>;
  healthcheck?: { test?: string[] | string };
  volumes?: (string | { source?: string; target?: string })[];
  profiles?: string[];
}

/** The resolved file as JSON: Compose v2 prints it itself; Debian's v1 is Python, whose YAML module converts it. */
function resolvedConfig(
  env: Record<string, string>,
  profile = 'lb',
): {
  services: Record<string, ComposeService>;
  volumes?: object;
} {
  const json = compose(['--profile', profile, 'config', '--format', 'json'], env);
  // v1 answers an unknown option with its help and status 0: only JSON counts.
  if (json.status === 0 && json.stdout.trimStart().startsWith('{')) return JSON.parse(json.stdout);
  const yaml = compose(['--profile', profile, 'config'], env);
  assert.equal(yaml.status, 0, yaml.stderr);
  const converted = spawnSync(
    'python3',
    ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
    { input: yaml.stdout, encoding: 'utf8' },
  );
  assert.equal(converted.status, 0, converted.stderr);
  return JSON.parse(converted.stdout);
}

/** Every variable server/src/config.ts reads. */
function configVariables(): string[] {
  const source = read('server/src/config.ts');
  const names = [...source.matchAll(/(?:read|integer|url|modelList)\(\s*env,\s*'([A-Z][A-Z0-9_]*)'/g)].map(
    (match) => match[1]!,
  );
  return [...new Set(names)].sort();
}

test('docker-compose.yml validates, and refuses to start without AUTH_TOKENS, saying so', {
  skip: composeMissing,
}, () => {
  const valid = compose(['config', '-q'], { AUTH_TOKENS: 'alice:a-long-token' });
  assert.equal(valid.status, 0, valid.stderr);
  const withProfile = compose(['--profile', 'lb', 'config', '-q'], { AUTH_TOKENS: 'alice:a-long-token' });
  assert.equal(withProfile.status, 0, withProfile.stderr);
  const withoutTokens = compose(['config', '-q']);
  assert.notEqual(withoutTokens.status, 0);
  assert.match(withoutTokens.stderr, /AUTH_TOKENS is required/);
});

test('compose: durable Redis, health-gated roles, scalable workers, every variable passed', {
  skip: composeMissing,
}, () => {
  const config = resolvedConfig({ AUTH_TOKENS: 'alice:a-long-token' });
  const { redis, gateway, worker, lb } = config.services;
  assert.ok(redis && gateway && worker && lb, `services: ${Object.keys(config.services).join(', ')}`);

  const redisCommand = Array.isArray(redis.command) ? redis.command.join(' ') : String(redis.command);
  assert.match(redisCommand, /--appendonly yes/);
  assert.match(redisCommand, /--maxmemory-policy noeviction/);
  assert.ok(redis.healthcheck?.test, 'redis has a healthcheck');
  const dataVolume = (redis.volumes ?? []).some((volume) =>
    typeof volume === 'string' ? volume.startsWith('redis-data:') : volume.source === 'redis-data',
  );
  assert.ok(dataVolume, 'redis keeps /data on the named volume redis-data');
  assert.ok(config.volumes && 'redis-data' in config.volumes);
  const { postgres } = config.services;
  assert.ok(postgres?.healthcheck?.test, 'postgres has a healthcheck');
  assert.ok(config.volumes && 'postgres-data' in config.volumes, 'postgres keeps its data on a named volume');

  for (const [name, service] of Object.entries({ gateway, worker })) {
    const dependsOn = service.depends_on as Record<string, { condition?: string }>;
    assert.equal(dependsOn.redis?.condition, 'service_healthy', `${name} waits for a healthy Redis`);
    assert.equal(dependsOn.postgres?.condition, 'service_healthy', `${name} waits for a healthy PostgreSQL`);
    assert.match(
      String(service.environment?.DATABASE_URL),
      /^postgres:\/\/chromeplus:[^@]+@postgres:5432\/chromeplus$/,
    );
    const variables = Object.keys(service.environment ?? {});
    const missing = configVariables().filter((variable) => !variables.includes(variable));
    assert.deepEqual(missing, [], `${name} is not given ${missing.join(', ')}`);
    assert.equal(String(service.environment?.HOST), '0.0.0.0');
  }
  assert.deepEqual(gateway.command, ['gateway']);
  assert.deepEqual(worker.command, ['worker']);
  assert.equal(worker.ports, undefined, 'a worker publishes no host port, or --scale worker=N would collide');
  assert.equal(
    worker.container_name,
    undefined,
    'a worker has no fixed name, or --scale worker=N would collide',
  );
  const published = JSON.stringify(gateway.ports);
  assert.match(
    published,
    /127\.0\.0\.1/,
    'the gateway is published on loopback unless GATEWAY_BIND says otherwise',
  );
  assert.deepEqual(lb.profiles, ['lb']);
});

test('compose profile sentinel: 3 durable data nodes, 3 sentinels with quorum 2, a gateway and workers on them', {
  skip: composeMissing,
}, () => {
  const { services, volumes } = resolvedConfig({ AUTH_TOKENS: 'alice:a-long-token' }, 'sentinel');
  const commandOf = (service: ComposeService) =>
    Array.isArray(service.command) ? service.command.join(' ') : String(service.command);
  const inProfile = Object.entries(services).filter(([, service]) => service.profiles?.includes('sentinel'));
  const dataNodes = inProfile.filter(([, service]) => /^redis-server --/.test(commandOf(service)));
  const sentinels = inProfile.filter(([, service]) => / --sentinel\b/.test(commandOf(service)));
  assert.equal(dataNodes.length, 3, `data nodes: ${dataNodes.map(([name]) => name).join(', ')}`);
  assert.equal(sentinels.length, 3, `sentinels: ${sentinels.map(([name]) => name).join(', ')}`);

  const masters = dataNodes.filter(([, service]) => !/--replicaof /.test(commandOf(service)));
  assert.equal(masters.length, 1, 'one master to start with, the others its replicas');
  const [masterName] = masters[0]!;
  for (const [name, service] of dataNodes) {
    const command = commandOf(service);
    // An image made from Debian's redis-server (scripts/docker-base-images.sh) has protected mode on by default.
    assert.match(command, /--protected-mode no/, `${name}: reachable from the other containers`);
    assert.match(command, /--appendonly yes/, `${name}: AOF`);
    assert.match(command, /--maxmemory-policy noeviction/, `${name}: noeviction`);
    // A replica promoted later is handed out by name, not by a container address that changes.
    assert.match(command, new RegExp(`--replica-announce-ip ${name}\\b`), `${name} announces its name`);
    if (name !== masterName) assert.match(command, new RegExp(`--replicaof ${masterName} 6379`));
    assert.ok(service.healthcheck?.test, `${name} has a healthcheck`);
    const volume = (service.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0] : v.source));
    assert.ok(volume[0] && volumes && volume[0] in volumes, `${name} keeps /data on a named volume`);
  }
  const monitors = new Set<string>();
  for (const [name, service] of sentinels) {
    const command = commandOf(service);
    const monitor = /sentinel monitor (\S+) (\S+) 6379 (\d+)/.exec(command);
    assert.ok(monitor, `${name} monitors a master`);
    assert.equal(monitor[2], masterName, `${name} starts from ${masterName}`);
    assert.equal(monitor[3], '2', `${name}: quorum 2 of 3`);
    assert.match(command, /--protected-mode no/);
    assert.match(command, /sentinel resolve-hostnames yes/);
    monitors.add(monitor[1]!);
    assert.ok(service.healthcheck?.test, `${name} has a healthcheck`);
  }
  assert.equal(monitors.size, 1, 'every sentinel watches the same master name');
  const [masterSetName] = [...monitors];

  for (const name of ['gateway-sentinel', 'worker-sentinel']) {
    const service = services[name];
    assert.ok(service, `${name} exists`);
    assert.deepEqual(service.profiles, ['sentinel']);
    assert.deepEqual(service.command, [name.split('-')[0]]);
    const environment = service.environment ?? {};
    assert.equal(environment.REDIS_SENTINEL_NAME, masterSetName);
    const listed = String(environment.REDIS_SENTINELS).split(',');
    assert.deepEqual(
      listed.sort(),
      sentinels.map(([sentinel]) => `${sentinel}:26379`).sort(),
      `${name} lists every sentinel`,
    );
    const dependsOn = service.depends_on as Record<string, { condition?: string }>;
    assert.equal(dependsOn.redis, undefined, `${name} does not start the single-node Redis`);
    for (const [sentinel] of sentinels) assert.equal(dependsOn[sentinel]?.condition, 'service_healthy');
    assert.equal(dependsOn.postgres?.condition, 'service_healthy');
    const missing = configVariables().filter((variable) => !(variable in environment));
    assert.deepEqual(missing, [], `${name} is not given ${missing.join(', ')}`);
  }
  assert.equal(services['worker-sentinel']?.ports, undefined, '--scale worker-sentinel=N works');
  assert.equal(services['worker-sentinel']?.container_name, undefined);
  const withProfile = compose(['--profile', 'sentinel', 'config', '-q'], {
    AUTH_TOKENS: 'alice:a-long-token',
  });
  assert.equal(withProfile.status, 0, withProfile.stderr);
});

test('nginx passes WebSocket upgrades and keeps /metrics inside', () => {
  const nginx = read('deploy/nginx.conf');
  assert.match(nginx, /proxy_set_header Upgrade \$http_upgrade;/);
  assert.match(nginx, /proxy_set_header Connection \$connection_upgrade;/);
  assert.match(nginx, /proxy_http_version 1\.1;/);
  assert.match(nginx, /location = \/metrics\s*\{\s*return 404;/);
});

test('the Dockerfile: multi-stage, non-root, a healthcheck, and the manifest of every workspace for npm ci', () => {
  const dockerfile = read('Dockerfile');
  assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 3, 'multi-stage');
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^HEALTHCHECK /m);
  assert.match(dockerfile, /^ENTRYPOINT \["node", "--enable-source-maps", "server\/dist\/main\.js"\]$/m);
  const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
  const dockerignore = read('.dockerignore');
  for (const workspace of workspaces) {
    assert.match(
      dockerfile,
      new RegExp(`COPY ${workspace}/package\\.json ${workspace}/`),
      `${workspace} manifest`,
    );
    const ignoredWhole = new RegExp(`^${workspace}/?$`, 'm').test(dockerignore);
    assert.ok(!ignoredWhole, `.dockerignore hides ${workspace}/package.json`);
  }
});

test('.env.example documents every variable the server reads', () => {
  const example = read('.env.example');
  const missing = configVariables().filter((variable) => !new RegExp(`^${variable}=`, 'm').test(example));
  assert.deepEqual(missing, []);
  assert.ok(configVariables().length >= 30, 'the variable scan still finds the config reads');
});
