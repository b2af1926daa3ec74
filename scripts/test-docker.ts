// The Docker path end to end (run by `npm run test:docker`, through scripts/test-docker.sh, which checks the
// engine and the base images first): builds the image, starts `--profile lb` with two workers under a throwaway
// project name, chats through nginx with the demo model, then SIGTERMs while answers stream (one gateway; the
// whole stack with the compose file's grace; the whole stack with no grace, so that the job is handed back and
// started over) and checks that the client, reconnecting through nginx and resuming from its last seq, gets the
// complete answer with every seq exactly once. Removes all it made at the end, pass or fail.
//
// Environment (the wrapper sets the first four): CHROME_PLUS_COMPOSE ("docker compose" or "docker-compose"),
// NODE_IMAGE, REDIS_IMAGE, NGINX_IMAGE (base images); KEEP_IMAGE=1 keeps the built image for a faster next run.
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '@chrome-plus/testkit';
import { WebSocket } from 'ws';

const started = Date.now();
const project = `cptest${randomBytes(3).toString('hex')}`;
const image = `chrome-plus-test:${project}`;
const token = randomBytes(18).toString('hex');
const composeCommand = (process.env.CHROME_PLUS_COMPOSE ?? 'docker-compose').split(' ');
const nodeImage = process.env.NODE_IMAGE ?? 'node:20-bookworm-slim';
const redisImage = process.env.REDIS_IMAGE ?? 'redis:7-alpine';
const nginxImage = process.env.NGINX_IMAGE ?? 'nginx:1.27-alpine';
const keepImage = process.env.KEEP_IMAGE === '1';
// The demo model answers the same text to the same message: every answer below must equal the first one.
const message = 'Hello from test:docker, through nginx.';

const timings: [string, number][] = [];
const figures: string[] = [];

function log(text: string): void {
  console.log(`[test:docker +${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
}

function fail(text: string): never {
  throw new Error(text);
}

async function step<T>(name: string, run: () => Promise<T> | T): Promise<T> {
  log(`${name}...`);
  const start = Date.now();
  const result = await run();
  const seconds = (Date.now() - start) / 1000;
  timings.push([name, seconds]);
  log(`${name}: ${seconds.toFixed(1)} s`);
  return result;
}

function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    ...options,
  });
  if (result.error) fail(`${command} ${args.join(' ')}: ${result.error.message}`);
  return { status: result.status, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

function must(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = run(command, args, options);
  if (result.status !== 0) {
    fail(
      `${command} ${args.join(' ')} exited ${result.status}:\n${(result.stderr || result.stdout).slice(-4000)}`,
    );
  }
  return result.stdout;
}

// ---- the throwaway deployment

const workDir = mkdtempSync(join(tmpdir(), 'chrome-plus-docker-'));
const envFile = join(workDir, 'test.env');

/** Compose, with only our env file and none of the developer's .env or shell variables. */
function composeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
  };
  for (const name of [
    'DOCKER_HOST',
    'DOCKER_CONTEXT',
    'DOCKER_CONFIG',
    'DOCKER_CERT_PATH',
    'DOCKER_TLS_VERIFY',
  ]) {
    if (process.env[name]) env[name] = process.env[name];
  }
  return env;
}

/** `extraEnv` wins over the env file, as a shell's variables do. */
function compose(args: string[], extraEnv: Record<string, string> = {}): string {
  const [command, ...prefix] = composeCommand;
  return must(
    command!,
    [...prefix, '--project-name', project, '--env-file', envFile, '--profile', 'lb', ...args],
    {
      env: { ...composeEnv(), ...extraEnv },
    },
  );
}

interface ContainerState {
  id: string;
  service: string;
  running: boolean;
  exitCode: number;
}

function containers(): ContainerState[] {
  const ids = must('docker', [
    'ps',
    '-aq',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${project}`,
  ])
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const format =
    '{{.Id}} {{index .Config.Labels "com.docker.compose.service"}} {{.State.Running}} {{.State.ExitCode}}';
  return must('docker', ['inspect', '-f', format, ...ids])
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, service, running, exitCode] = line.split(' ');
      return { id: id!, service: service!, running: running === 'true', exitCode: Number(exitCode) };
    });
}

async function waitReady(lbPort: number, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${lbPort}/readyz`, {
        signal: AbortSignal.timeout(2000),
      });
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  fail(`nginx did not answer /readyz with 200 within ${timeoutMs / 1000} s (last: ${last})`);
}

// ---- a WebSocket client of docs/protocol.md

interface Frame {
  type: string;
  id?: string;
  seq?: number;
  text?: string;
  [key: string]: unknown;
}

interface Client {
  socket: WebSocket;
  server: string;
  /** Resolves with the close code once the socket closes. */
  closed: Promise<number>;
  send(frame: object): void;
  /** Frames of request `id` until its terminal event or the socket's close; `onEvent` sees each as it comes. */
  follow(id: string, onEvent?: (frame: Frame) => void): Promise<{ events: Frame[]; closeCode?: number }>;
}

const terminal = new Set(['chat.done', 'chat.error', 'chat.cancelled']);

async function connect(url: string): Promise<Client> {
  const socket = new WebSocket(url);
  const listeners = new Set<(frame: Frame) => void>();
  let closeCode: number | undefined;
  const closed = new Promise<number>((resolve) =>
    socket.on('close', (code) => {
      closeCode = code;
      resolve(code);
    }),
  );
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    for (const listener of listeners) listener(frame);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const send = (frame: object) => socket.send(JSON.stringify(frame));
  const welcome = await new Promise<Frame>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no welcome within 10 s')), 10_000);
    const listener = (frame: Frame) => {
      listeners.delete(listener);
      clearTimeout(timer);
      if (frame.type === 'welcome') resolve(frame);
      else reject(new Error(`hello answered with ${JSON.stringify(frame)}`));
    };
    listeners.add(listener);
    send({ type: 'hello', token, client: 'test-docker' });
  });
  return {
    socket,
    server: String(welcome.server),
    closed,
    send,
    follow(id, onEvent) {
      return new Promise((resolve) => {
        const events: Frame[] = [];
        const finish = (code?: number) => {
          listeners.delete(listener);
          resolve(code === undefined ? { events } : { events, closeCode: code });
        };
        const listener = (frame: Frame) => {
          if (frame.id !== id) return;
          if (frame.type === 'chat.error' && frame.seq === undefined)
            fail(`refused: ${JSON.stringify(frame)}`);
          if (frame.seq === undefined) return; // chat.accepted
          events.push(frame);
          onEvent?.(frame);
          if (terminal.has(frame.type)) finish();
        };
        listeners.add(listener);
        if (closeCode !== undefined) finish(closeCode);
        else void closed.then((code) => finish(code));
      });
    },
  };
}

/** The answer the events tell: the text of the deltas since the last chat.restart. */
function answerOf(events: Frame[]): string {
  let text = '';
  for (const event of events) {
    if (event.type === 'chat.restart') text = '';
    if (event.type === 'chat.delta' && typeof event.text === 'string') text += event.text;
  }
  return text;
}

/** Every seq from `after` + 1 on, once each, in order. */
function checkContiguous(events: Frame[], after: number, what: string): void {
  events.forEach((event, index) => {
    if (event.seq !== after + index + 1) {
      fail(`${what}: seq ${event.seq} at position ${index}, expected ${after + index + 1}`);
    }
  });
}

/** Every seq from `after` + 1 on, once each, in order, ending with chat.done. */
function checkExactlyOnce(events: Frame[], after: number, what: string): void {
  checkContiguous(events, after, what);
  const last = events.at(-1);
  if (last?.type !== 'chat.done') fail(`${what}: ended with ${JSON.stringify(last)}, not chat.done`);
}

function containerOf(server: string): ContainerState {
  const hostname = /\(([0-9a-f]{12}):\d+\)$/.exec(server)?.[1];
  const found = containers().find((container) => hostname && container.id.startsWith(hostname));
  return found ?? fail(`no container of this project serves "${server}"`);
}

// ---- the run

async function main(): Promise<void> {
  const lbPort = await freePort();
  const gatewayPort = await freePort();
  writeFileSync(
    envFile,
    [
      `AUTH_TOKENS=docker-test:${token}`,
      `IMAGE=${image}`,
      `REDIS_IMAGE=${redisImage}`,
      `NGINX_IMAGE=${nginxImage}`,
      'LB_BIND=127.0.0.1',
      `LB_PORT=${lbPort}`,
      'GATEWAY_BIND=127.0.0.1',
      `GATEWAY_PORT=${gatewayPort}`,
      'REDIS_MAXMEMORY=256mb',
      '',
    ].join('\n'),
  );
  log(`project ${project}, image ${image} on ${nodeImage}; redis ${redisImage}, nginx ${nginxImage}`);
  const url = `ws://127.0.0.1:${lbPort}/v1/ws`;

  await step('build the image', () => {
    const env = { ...process.env };
    // The legacy builder reads `# syntax=` as a comment; BuildKit would fetch that frontend from Docker Hub.
    if (env.DOCKER_BUILDKIT === undefined && nodeImage !== 'node:20-bookworm-slim') env.DOCKER_BUILDKIT = '0';
    const args = ['build', '--build-arg', `NODE_IMAGE=${nodeImage}`, '-t', image, '.'];
    const first = run('docker', args, { env });
    // Docker 20.10's legacy builder can trip over a cached layer whose parent was removed meanwhile
    // ("unknown parent image ID"): once more without the cache.
    if (first.status !== 0 && /unknown parent image ID/.test(first.stderr)) {
      log('the builder lost a cached parent image; building again without the cache');
      must('docker', [...args.slice(0, -1), '--no-cache', '.'], { env });
    } else if (first.status !== 0) {
      fail(
        `docker ${args.join(' ')} exited ${first.status}:\n${(first.stderr || first.stdout).slice(-4000)}`,
      );
    }
  });

  await step('compose up --profile lb --scale worker=2 (until nginx answers /readyz)', async () => {
    compose(['up', '-d', '--no-build', '--scale', 'worker=2']);
    await waitReady(lbPort);
  });
  const services = containers().map((container) => container.service);
  log(`containers: ${services.sort().join(', ')}`);
  if (services.filter((service) => service === 'worker').length !== 2) fail('expected two workers');

  // 1. Chat through nginx; two sockets at once land on the two gateways (least_conn).
  const [first, second] = await Promise.all([connect(url), connect(url)]);
  figures.push(`sockets through nginx: ${first.server} | ${second.server}`);
  if (first.server === second.server) fail('nginx put two concurrent sockets on the same gateway');
  const reference = await step('a chat through nginx (demo model)', async () => {
    const id = randomUUID();
    const sent = Date.now();
    let firstDelta = 0;
    const answer = first.follow(id, (frame) => {
      if (frame.type === 'chat.delta' && firstDelta === 0) firstDelta = Date.now() - sent;
    });
    first.send({ type: 'chat.send', id, model: 'demo', messages: [{ role: 'user', content: message }] });
    const { events } = await answer;
    checkExactlyOnce(events, 0, 'chat');
    const text = answerOf(events);
    if (!text.includes('Chrome Plus demo model') || !text.includes(message))
      fail(`unexpected answer: ${text}`);
    figures.push(
      `chat: ${events.length} events, ${text.length} characters, first delta ${firstDelta} ms, done ${Date.now() - sent} ms`,
    );
    return text;
  });
  second.socket.close();

  // 2. SIGTERM to the gateway holding the socket while the answer streams: the client reconnects through nginx
  //    (to the other gateway) and resumes.
  await step('SIGTERM to one gateway mid-answer, resume through nginx', async () => {
    const id = randomUUID();
    const gateway = containerOf(first.server);
    let stopError: unknown;
    const partial = first.follow(id, (frame) => {
      if (frame.type === 'chat.delta' && frame.seq === 3) {
        try {
          must('docker', ['stop', '-t', '15', gateway.id]);
        } catch (error) {
          stopError = error;
        }
      }
    });
    first.send({ type: 'chat.send', id, model: 'demo', messages: [{ role: 'user', content: message }] });
    const { events: before, closeCode } = await partial;
    if (stopError !== undefined) throw stopError;
    if (closeCode === undefined)
      fail('the answer ended before the gateway closed the socket: nothing was tested');
    checkContiguous(before, 0, 'before the gateway stopped');
    const lastSeq = before.at(-1)?.seq ?? 0;
    const state = containers().find((container) => container.id === gateway.id);
    if (state?.running || state?.exitCode !== 0)
      fail(`the gateway did not exit cleanly: ${JSON.stringify(state)}`);
    const closedAt = Date.now();
    const again = await connect(url);
    if (again.server === first.server) fail('reconnected to the stopped gateway?');
    const resumed = again.follow(id);
    again.send({ type: 'chat.resume', id, after: lastSeq });
    const { events: after } = await resumed;
    checkExactlyOnce(after, lastSeq, 'resume after the gateway stopped');
    if (answerOf([...before, ...after]) !== reference) fail('the resumed answer differs from the reference');
    const waited = Date.now() - closedAt;
    figures.push(
      `gateway SIGTERM: socket closed ${closeCode} after seq ${lastSeq}; resumed on ${again.server} ` +
        `with seq ${lastSeq + 1}..${after.at(-1)?.seq}, each once, text complete, ${waited} ms after the close`,
    );
    if (waited > 5000) {
      figures.push(
        '  note: a reconnect waited over 5 s: nginx tried the stopped gateway first and gave up only at its ' +
          'proxy_connect_timeout (60 s by default, unless deploy/nginx.conf sets one)',
      );
    }
    again.socket.close();
  });

  // 3. SIGTERM to the whole stack while an answer streams (compose stop, each service's grace), then start it
  //    again: the answer is in Redis (AOF on the volume), the client resumes through the new nginx. With the
  //    compose file's 20 s grace the worker finishes the answer while it drains.
  await step('compose up (the stopped gateway back)', async () => {
    compose(['up', '-d', '--no-build', '--scale', 'worker=2']);
    await waitReady(lbPort);
  });
  await stopStackMidAnswer(url, lbPort, reference, 'compose stop', {});
  // 4. The same with SHUTDOWN_GRACE_MS=0: the stopping worker hands the job back at once, and after the restart
  //    another worker starts it over (chat.restart); the client still ends with the whole answer.
  const noGrace = { SHUTDOWN_GRACE_MS: '0' };
  await step('compose up --force-recreate with SHUTDOWN_GRACE_MS=0', async () => {
    compose(['up', '-d', '--no-build', '--force-recreate', '--scale', 'worker=2'], noGrace);
    await waitReady(lbPort);
  });
  const restarts = await stopStackMidAnswer(url, lbPort, reference, 'compose stop, no grace', noGrace);
  if (restarts === 0)
    fail('SHUTDOWN_GRACE_MS=0: no chat.restart, so no job was handed back: nothing was tested');
}

/** Sends a chat, `compose stop`s every container at its third delta, starts them again, resumes, replays. */
async function stopStackMidAnswer(
  url: string,
  lbPort: number,
  reference: string,
  label: string,
  extraEnv: Record<string, string>,
): Promise<number> {
  const client = await connect(url);
  const id = randomUUID();
  let stopError: unknown;
  const partial = client.follow(id, (frame) => {
    if (frame.type === 'chat.delta' && frame.seq === 3) {
      // Synchronous: the client reads nothing more until every container has stopped.
      const stopStarted = Date.now();
      log(`${label} (SIGTERM to every container) mid-answer...`);
      try {
        compose(['stop'], extraEnv);
      } catch (error) {
        stopError = error;
      }
      const seconds = (Date.now() - stopStarted) / 1000;
      timings.push([`${label} (SIGTERM to every container) mid-answer`, seconds]);
      log(`${label}: ${seconds.toFixed(1)} s`);
    }
  });
  client.send({ type: 'chat.send', id, model: 'demo', messages: [{ role: 'user', content: message }] });
  const { events: before, closeCode } = await partial;
  if (stopError !== undefined) throw stopError;
  if (closeCode === undefined)
    fail(`${label}: the answer ended before the stack stopped: nothing was tested`);
  checkContiguous(before, 0, `${label}: before the stack stopped`);
  const lastSeq = before.at(-1)?.seq ?? 0;
  const exits = containers();
  const unclean = exits.filter((container) => container.running || container.exitCode !== 0);
  const exitCodes = exits
    .map((container) => `${container.service}=${container.exitCode}`)
    .sort()
    .join(' ');
  if (unclean.length > 0) fail(`${label}: containers that did not exit cleanly on SIGTERM: ${exitCodes}`);
  await step(`${label}: compose up again (until nginx answers /readyz)`, async () => {
    compose(['up', '-d', '--no-build', '--scale', 'worker=2'], extraEnv);
    await waitReady(lbPort);
  });
  return step(`${label}: resume after the restart`, async () => {
    const again = await connect(url);
    const resumed = again.follow(id);
    again.send({ type: 'chat.resume', id, after: lastSeq });
    const { events: after } = await resumed;
    checkExactlyOnce(after, lastSeq, `${label}: resume after compose stop/up`);
    if (answerOf([...before, ...after]) !== reference)
      fail(`${label}: the resumed answer differs from the first`);
    // The whole log, replayed from the start, is the same answer: nothing lost or doubled across the restart.
    const replay = again.follow(id);
    again.send({ type: 'chat.resume', id, after: 0 });
    const { events: all } = await replay;
    checkExactlyOnce(all, 0, `${label}: replay from seq 0`);
    if (answerOf(all) !== reference) fail(`${label}: the replayed answer differs from the first`);
    const restarts = all.filter((event) => event.type === 'chat.restart').length;
    figures.push(
      `${label}: socket closed ${closeCode} after seq ${lastSeq}; exit codes ${exitCodes}; after up, resumed ` +
        `seq ${lastSeq + 1}..${after.at(-1)?.seq} each once on ${again.server}; full replay ${all.length} events, ` +
        `${restarts} chat.restart, the answer equal to the first chat's`,
    );
    again.socket.close();
    return restarts;
  });
}

function danglingImages(): string[] {
  return must('docker', ['images', '-q', '--no-trunc', '--filter', 'dangling=true'])
    .split('\n')
    .filter(Boolean);
}
// The builder leaves its intermediate stages (deps, build) as untagged images: ours are those that were not there.
const danglingBefore = new Set(danglingImages());

function teardown(): void {
  const [command, ...prefix] = composeCommand;
  spawnSync(
    command!,
    [
      ...prefix,
      '--project-name',
      project,
      '--env-file',
      envFile,
      '--profile',
      'lb',
      'down',
      '-v',
      '--remove-orphans',
    ],
    { cwd: repoRoot, env: composeEnv(), stdio: 'ignore', timeout: 120_000 },
  );
  if (!keepImage) spawnSync('docker', ['image', 'rm', image], { stdio: 'ignore' });
  const ours = danglingImages().filter((imageId) => !danglingBefore.has(imageId));
  if (!keepImage && ours.length > 0) spawnSync('docker', ['image', 'rm', ...ours], { stdio: 'ignore' });
  rmSync(workDir, { recursive: true, force: true });
}

let failed: unknown;
try {
  await main();
} catch (error) {
  failed = error;
}
await step('compose down -v and remove the image', () => teardown());
const left = containers();
if (left.length > 0) log(`left behind: ${JSON.stringify(left)}`);

console.log('\ntimings:');
for (const [name, seconds] of timings) console.log(`  ${seconds.toFixed(1).padStart(6)} s  ${name}`);
console.log('figures:');
for (const figure of figures) console.log(`  ${figure}`);
if (failed !== undefined) {
  console.error(`\ntest:docker FAILED: ${failed instanceof Error ? failed.message : String(failed)}`);
  process.exit(1);
}
console.log(`\ntest:docker passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(0);
