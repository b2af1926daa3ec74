// The CLI's token: from the environment or a prompt without echo, never needed on the command line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanupPrefix, testPrefix } from '@chrome-plus/testkit';
import { startTestApp, testEnv } from '../../test/harness.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const TOKEN = 'cli-secret-token-4711';
const prefix = testPrefix('cli');
let app: Awaited<ReturnType<typeof startTestApp>>;

before(async () => {
  app = await startTestApp('all', testEnv(prefix, { AUTH_TOKENS: `cli:${TOKEN}` }));
});

after(async () => {
  await app.close();
  await cleanupPrefix(prefix);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli/chat.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, CHROME_PLUS_TOKEN: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  if (input !== undefined) child.stdin.end(input);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

test('the token comes from CHROME_PLUS_TOKEN: nothing secret on the command line', async () => {
  const run = await runCli(['--url', app.url, 'hello there'], { CHROME_PLUS_TOKEN: TOKEN });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /demo/i);
  assert.match(run.stderr, /connected to .* as cli/);
  assert.doesNotMatch(run.stderr, /deprecated/);
});

test('--token still works, with a warning that it leaks through ps and shell history', async () => {
  const run = await runCli(['--url', app.url, '--token', TOKEN, 'hello'], {});
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /--token is deprecated.*`ps`.*CHROME_PLUS_TOKEN/s);
});

test('with no token and no terminal, a refused hello says to set CHROME_PLUS_TOKEN', async () => {
  const run = await runCli(['--url', app.url, 'hello'], {}, '');
  assert.equal(run.code, 1);
  assert.match(run.stderr, /refused the token.*set CHROME_PLUS_TOKEN/);
});

const hasScript = spawnSync('script', ['--version']).status === 0;

test('at a terminal, the token is asked for and typed without echo', {
  skip: hasScript ? false : 'util-linux script is not installed',
}, async () => {
  // `script` gives the CLI a real pseudo-terminal; what it prints back is what the terminal would show.
  const command = `${process.execPath} --import tsx server/src/cli/chat.ts --url ${app.url} hello`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: repoRoot,
    env: { ...process.env, CHROME_PLUS_TOKEN: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let shown = '';
  let typed = false;
  child.stdout.on('data', (chunk: Buffer) => {
    shown += chunk.toString();
    if (!typed && shown.includes('token: ')) {
      typed = true;
      child.stdin.write(`${TOKEN}\r`);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end();
  assert.equal(code, 0, shown);
  assert.match(shown, /token: /);
  assert.match(shown, /connected to .* as cli/);
  assert.ok(!shown.includes(TOKEN), `the token was echoed:\n${shown}`);
});
