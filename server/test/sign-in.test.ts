// Signing in with a password and reading one's own usage, over HTTP as the extension's options page does, on a real
// PostgreSQL: `npm run admin -- users add NAME --password-stdin` (the real CLI, the password on stdin), POST
// /v1/auth/sign-in minting a device token, that token chatting, GET /v1/me/usage counting it, password resets,
// CORS and origins as for uploads, and the sign-in throttle.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CloseCode, MY_USAGE_PATH, type MyUsage, SIGN_IN_PATH, type SignedIn } from '@chrome-plus/protocol';
import {
  cleanupPrefix,
  createTestDatabase,
  type FakeOpenAI,
  repoRoot,
  startFakeOpenAI,
  type TestDatabase,
  testPrefix,
  until,
} from '@chrome-plus/testkit';
import { pino } from 'pino';
import { type App, startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { type Database, openDatabase } from '../src/db/database.ts';
import { chromePlusExtensionOrigin } from '../src/gateway/origin.ts';
import { chatSend, TestClient, testEnv } from './harness.ts';

const ADMIN_TOKEN = 'admin-token-for-sign-in-tests';
const PASSWORD = 'correct horse battery staple';

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI, as an operator runs it, with `stdin` piped in. */
function adminCli(args: string[], baseUrl: string, stdin = ''): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'server/src/cli/admin.ts', ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, CHROME_PLUS_URL: baseUrl, ADMIN_TOKEN },
        timeout: 30_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

describe('signing in with a password, and one’s own usage', () => {
  const prefix = testPrefix('signin');
  let fake: FakeOpenAI;
  let testDatabase: TestDatabase;
  let database: Database;
  let app: App;
  let base: string;
  let socketUrl: string;

  /** A request from the extension's options page (its Origin), from `address` (TRUST_PROXY is on). */
  function call(
    method: string,
    path: string,
    options: { body?: unknown; token?: string; origin?: string | null; address?: string } = {},
  ) {
    const origin = options.origin === undefined ? chromePlusExtensionOrigin : options.origin;
    return fetch(`${base}${path}`, {
      method,
      headers: {
        'x-forwarded-for': options.address ?? '10.0.0.1',
        ...(origin !== null && { origin }),
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
      },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
  }

  async function signIn(name: string, password: string, device = 'laptop', address?: string) {
    const response = await call('POST', SIGN_IN_PATH, {
      body: { name, password, device },
      ...(address !== undefined && { address }),
    });
    return { response, body: (await response.json()) as Record<string, unknown> };
  }

  async function myUsage(token: string): Promise<MyUsage> {
    const response = await call('GET', MY_USAGE_PATH, { token });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), chromePlusExtensionOrigin);
    return (await response.json()) as MyUsage;
  }

  before(async () => {
    fake = await startFakeOpenAI();
    testDatabase = await createTestDatabase('signin');
    database = await openDatabase({ kind: 'postgres', url: testDatabase.url });
    const config = loadConfig(
      testEnv(prefix, {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-test-secret-key',
        OPENAI_MODEL: 'fake-model',
        AUTH_TOKENS: 'bob:bob-token-from-env',
        ADMIN_TOKEN,
        DATABASE_URL: testDatabase.url,
        LOGIN_MAX_FAILURES: '3',
        TRUST_PROXY: 'on',
      }),
    );
    app = await startApp({ role: 'all', config, logger: pino({ level: 'silent' }), database });
    base = `http://127.0.0.1:${app.gateway!.port}`;
    socketUrl = `ws://127.0.0.1:${app.gateway!.port}/v1/ws`;
  });

  after(async () => {
    await app.close();
    await database.close();
    await fake.close();
    await testDatabase.drop();
    await cleanupPrefix(prefix);
  });

  test('users add NAME --password-stdin stores a scrypt hash, never the password', async () => {
    const added = await adminCli(['users', 'add', 'alice', '--password-stdin'], base, `${PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added user alice, who may sign in with a password/);
    const row = await database.db
      .selectFrom('users')
      .select('password_hash')
      .where('name', '=', 'alice')
      .executeTakeFirstOrThrow();
    assert.match(row.password_hash ?? '', /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.equal(row.password_hash?.includes(PASSWORD), false);
    const listed = await adminCli(['users', 'list', '--json'], base);
    const users = JSON.parse(listed.stdout) as { name: string; hasPassword?: boolean }[];
    assert.equal(users.find((user) => user.name === 'alice')?.hasPassword, true);
  });

  test('the CLI refuses a missing, empty, multi-line or short password with a one-line reason', async () => {
    const cases: [string[], string, number, RegExp][] = [
      [['users', 'password', 'alice'], '', 2, /users password needs --password-stdin/],
      [['users', 'add', 'dave', '--password-stdin'], '', 2, /standard input was empty/],
      [['users', 'add', 'dave', '--password-stdin'], 'one\ntwo\n', 2, /the password is one line/],
      [
        ['users', 'add', 'dave', '--password-stdin'],
        'short\n',
        1,
        /refused \(400\): a password has at least 8/,
      ],
      [['users', 'password', 'nobody', '--password-stdin'], `${PASSWORD}\n`, 1, /refused \(404\): no user/],
    ];
    for (const [args, stdin, code, reason] of cases) {
      const result = await adminCli(args, base, stdin);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, reason);
    }
    const listed = await adminCli(['users', 'list', '--json'], base);
    assert.equal(listed.stdout.includes('"dave"'), false, 'nothing was added');
  });

  test('sign-in mints a device token that chats; its usage is the user’s own to read', async () => {
    const { response, body } = await signIn('alice', PASSWORD);
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(response.headers.get('access-control-allow-origin'), chromePlusExtensionOrigin);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const signedIn = body as SignedIn;
    assert.equal(signedIn.user, 'alice');
    assert.equal(signedIn.device, 'laptop');
    assert.match(signedIn.token, /^cpd_[A-Za-z0-9_-]{43}$/);

    const before = await myUsage(signedIn.token);
    assert.deepEqual(
      { ...before, resetsAt: undefined },
      {
        user: 'alice',
        day: new Date().toISOString().slice(0, 10),
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        tokens: 0,
        estimatedTokens: 0,
        tokensPerDay: null,
        resetsAt: undefined,
      },
    );
    assert.match(before.resetsAt, /T00:00:00\.000Z$/);

    const client = await TestClient.open(socketUrl, signedIn.token);
    const welcome = client.frames.find((frame) => frame.type === 'welcome');
    assert.equal(welcome?.type === 'welcome' && welcome.user, 'alice');
    fake.enqueue({ type: 'answer', pieces: ['Hi'], usage: { prompt_tokens: 7, completion_tokens: 4 } });
    client.send(chatSend('s-1', 'hello'));
    assert.equal((await client.untilEnd('s-1')).at(-1)?.type, 'chat.done');
    client.close();

    let usage = before;
    await until(async () => {
      usage = await myUsage(signedIn.token);
      return usage.requests === 1;
    });
    assert.equal(usage.promptTokens, 7);
    assert.equal(usage.completionTokens, 4);
    assert.equal(usage.tokens, 11);

    const set = await adminCli(['quota', 'set', 'alice', '--tokens-per-day', '50000'], base);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await myUsage(signedIn.token)).tokensPerDay, 50_000);
    // Another user's token reads their own, not alice's.
    const bob = await myUsage('bob-token-from-env');
    assert.equal(bob.user, 'bob');
    assert.equal(bob.tokens, 0);
  });

  test('signing in again on the same device replaces its token: the old one’s socket closes with 4401', async () => {
    const first = (await signIn('alice', PASSWORD, 'work chrome')).body as SignedIn;
    const socket = await TestClient.open(socketUrl, first.token);
    const second = await signIn('alice', PASSWORD, 'work chrome');
    assert.equal(second.response.status, 201);
    assert.notEqual((second.body as SignedIn).token, first.token);
    assert.equal((await socket.closed).code, CloseCode.unauthorized);
    const tokens = await adminCli(['tokens', 'list', 'alice', '--json'], base);
    const devices = (JSON.parse(tokens.stdout) as { device: string; revokedAt: string | null }[]).filter(
      (token) => token.device === 'work chrome',
    );
    assert.deepEqual(
      devices.map((token) => token.revokedAt === null),
      [false, true],
    );
    (await TestClient.open(socketUrl, (second.body as SignedIn).token)).close();
  });

  test('users password NAME --password-stdin resets it: the old one stops signing in', async () => {
    const reset = await adminCli(
      ['users', 'password', 'alice', '--password-stdin'],
      base,
      'a new passphrase\n',
    );
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal((await signIn('alice', PASSWORD, 'laptop', '10.0.0.2')).response.status, 401);
    assert.equal((await signIn('alice', 'a new passphrase', 'laptop', '10.0.0.2')).response.status, 201);
  });

  test('wrong password, unknown user, an AUTH_TOKENS user and a user without password get the same 401', async () => {
    assert.equal((await adminCli(['users', 'add', 'erin'], base)).code, 0);
    for (const [name, password] of [
      ['alice', 'not the passphrase'],
      ['nobody', PASSWORD],
      ['bob', 'bob-token-from-env'],
      ['erin', PASSWORD],
    ] as const) {
      const { response, body } = await signIn(name, password, 'laptop', `10.0.1.${name.length}`);
      assert.equal(response.status, 401, name);
      assert.deepEqual(body, { error: 'unauthorized', message: 'wrong user name or password' });
      assert.equal(response.headers.get('access-control-allow-origin'), chromePlusExtensionOrigin);
    }
    assert.equal((await adminCli(['users', 'disable', 'alice'], base)).code, 0);
    const disabled = await signIn('alice', 'a new passphrase', 'laptop', '10.0.2.1');
    assert.equal(disabled.response.status, 403);
    assert.equal(disabled.body.error, 'disabled');
    assert.equal((await adminCli(['users', 'enable', 'alice'], base)).code, 0);
  });

  test('bad bodies are refused with the field named; usage needs a valid token', async () => {
    const missing = await call('POST', SIGN_IN_PATH, {
      body: { name: 'alice', device: 'x' },
      address: '10.0.3.1',
    });
    assert.equal(missing.status, 400);
    assert.match(((await missing.json()) as { message: string }).message, /^password:/);
    const badDevice = await signIn('alice', 'a new passphrase', 'bad/device', '10.0.3.1');
    assert.equal(badDevice.response.status, 400);
    assert.match(String(badDevice.body.message), /device name/);
    const noToken = await call('GET', MY_USAGE_PATH, { address: '10.0.3.2' });
    assert.equal(noToken.status, 401);
    const wrongToken = await call('GET', MY_USAGE_PATH, { token: 'cpd_nope', address: '10.0.3.2' });
    assert.equal(wrongToken.status, 401);
    assert.equal((await call('GET', SIGN_IN_PATH, { address: '10.0.3.3' })).status, 405);
  });

  test('origins as for uploads: the preflight is answered, another origin is refused, none is judged by token', async () => {
    for (const [path, method] of [
      [SIGN_IN_PATH, 'POST'],
      [MY_USAGE_PATH, 'GET'],
    ] as const) {
      const preflight = await call('OPTIONS', path);
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), chromePlusExtensionOrigin);
      assert.equal(preflight.headers.get('access-control-allow-methods'), method);
      assert.match(
        preflight.headers.get('access-control-allow-headers') ?? '',
        /authorization, content-type/,
      );
      const foreign = await call(method, path, {
        origin: 'https://evil.example',
        ...(method === 'POST' && { body: { name: 'alice', password: 'a new passphrase', device: 'x' } }),
      });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    }
    // No Origin (a command-line client): allowed, judged by its credentials.
    const response = await call('POST', SIGN_IN_PATH, {
      origin: null,
      body: { name: 'alice', password: 'a new passphrase', device: 'terminal' },
    });
    assert.equal(response.status, 201);
  });

  test('after LOGIN_MAX_FAILURES failures an address waits (429, Retry-After), even with the right password', async () => {
    const address = '10.9.9.9';
    for (let attempt = 0; attempt < 3; attempt++)
      assert.equal((await signIn('alice', 'wrong passphrase', 'laptop', address)).response.status, 401);
    const blocked = await signIn('alice', 'a new passphrase', 'laptop', address);
    assert.equal(blocked.response.status, 429);
    assert.equal(blocked.body.error, 'rate_limited');
    assert.ok(Number(blocked.response.headers.get('retry-after')) >= 1);
    // The throttle is one per address, shared with the own-usage route (and sockets, uploads, the admin API).
    assert.equal((await call('GET', MY_USAGE_PATH, { token: 'x', address })).status, 429);
    // Other addresses are not held back.
    assert.equal((await signIn('alice', 'a new passphrase', 'laptop', '10.9.9.8')).response.status, 201);
  });
});

test('a gateway without a database answers the extension’s accounts routes 404, readable cross-origin', async () => {
  const prefix = testPrefix('signinnodb');
  const config = loadConfig(testEnv(prefix, { DATABASE_URL: 'none', AUTH_TOKENS: 'bob:bob-token-from-env' }));
  const gateway = await startApp({ role: 'gateway', config, logger: pino({ level: 'silent' }) });
  try {
    const base = `http://127.0.0.1:${gateway.gateway!.port}`;
    const headers = { origin: chromePlusExtensionOrigin, 'content-type': 'application/json' };
    const signIn = await fetch(`${base}${SIGN_IN_PATH}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bob', password: 'whatever it is', device: 'laptop' }),
    });
    assert.equal(signIn.status, 404);
    assert.equal(signIn.headers.get('access-control-allow-origin'), chromePlusExtensionOrigin);
    assert.match(((await signIn.json()) as { message: string }).message, /no accounts database/);
    const usage = await fetch(`${base}${MY_USAGE_PATH}`, {
      headers: { ...headers, authorization: 'Bearer bob-token-from-env' },
    });
    assert.equal(usage.status, 404);
    assert.equal(usage.headers.get('access-control-allow-origin'), chromePlusExtensionOrigin);
  } finally {
    await gateway.close();
    await cleanupPrefix(prefix);
  }
});
