#!/usr/bin/env node
// Runs node's test runner (through tsx) on every *.test.ts and *.e2e.ts of the workspace, or on the files/folders
// given.
// --unit: only the unit tests, the fast inner loop: the *.test.ts under a package's src/ that start no child
// process (no `node:child_process` import): no roles, no CLI, no build, no Chromium. Redis may be used.
// They run in a few processes (--shards, default 8), each importing its share of the files, not a process per file:
// starting tsx for each of 36 small files cost more than the tests themselves.
// Without --unit, the unit files run so in two processes beside node's runner, which takes every other file in a
// process of its own, --concurrency at once (default 3: the browser and process tests wait on timers and on
// Chromium as much as they compute), the longest first (browser, then the failover, reliability and accounts
// tests, then ops and database ones), so that the short ones fill the gaps instead of a long one starting last.
// --suffix S: only files ending in S (e.g. .e2e.ts).
// Roles started by the tests run from the bundle server/dist when it is newer than every source it is built from
// (`npm run build -w server`; `npm test` builds first), else from the sources through tsx: see serverEntry() in
// testkit/src/roles.ts.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const skip = new Set(['node_modules', 'dist', '.git', '.tsbuild', 'test-results']);
function collect(path, suffix, out) {
  if (statSync(path).isFile()) {
    out.push(path);
    return out;
  }
  for (const entry of readdirSync(path).sort()) {
    if (skip.has(entry)) continue;
    const full = join(path, entry);
    if (statSync(full).isDirectory()) collect(full, suffix, out);
    else if (entry.endsWith(suffix)) out.push(full);
  }
  return out;
}

function option(args, name) {
  const index = args.indexOf(name);
  return index >= 0 ? args.splice(index, 2)[1] : undefined;
}

const args = process.argv.slice(2);
const unitIndex = args.indexOf('--unit');
const unit = unitIndex >= 0 && args.splice(unitIndex, 1).length > 0;
const suffixes = (option(args, '--suffix') ?? '.test.ts,.e2e.ts').split(',');
const concurrency = option(args, '--concurrency') ?? '3';
const shards = Number(option(args, '--shards') ?? 8);
const roots = args.length > 0 ? args : ['protocol', 'client', 'testkit', 'server', 'extension'];
let files = [...new Set(roots.flatMap((root) => suffixes.flatMap((suffix) => collect(root, suffix, []))))];
/** A unit test: under a package's src/, starting no process. */
const isUnit = (file) =>
  file.split(sep).includes('src') && !/from 'node:child_process'/.test(readFileSync(file, 'utf8'));
if (unit) files = files.filter(isUnit);
if (files.length === 0) {
  console.error(`no ${suffixes.join(' or ')} files under ${roots.join(', ')}`);
  process.exit(1);
}
if (process.env.CHROME_PLUS_SERVER_ENTRY === undefined) {
  const bundle = 'server/dist/main.js';
  if (bundleIsFresh(bundle)) process.env.CHROME_PLUS_SERVER_ENTRY = bundle;
  else if (!unit)
    console.error(`${bundle} is missing or older than its sources: roles run through tsx (slower)`);
}
if (unit) process.exit(await runInShards(files, shards));
// The unit files in two shared processes, beside node's runner for the rest (a process per file).
const quick = files.filter(isUnit);
const longestFirst = [/\.e2e\.ts$/, /redis-ha|reliability|accounts/, /ops|sign-in|database/];
const rank = (file) => {
  const index = longestFirst.findIndex((pattern) => pattern.test(file));
  return index < 0 ? longestFirst.length : index;
};
const rest = files
  .filter((file) => !quick.includes(file))
  .sort((a, b) => rank(a) - rank(b) || statSync(b).size - statSync(a).size);
const codes = await Promise.all([
  quick.length > 0 ? runInShards(quick, 2) : 0,
  rest.length > 0 ? runFiles(rest) : 0,
]);
process.exit(codes.every((code) => code === 0) ? 0 : 1);

/** node --test on `files`, a process per file, `concurrency` at once. */
function runFiles(files) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
      { stdio: 'inherit' },
    );
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** True when `bundle` exists and is newer than every file it is built from. */
function bundleIsFresh(bundle) {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  const sources = ['server/src', 'protocol/src', 'client/src']
    .flatMap((root) => collect(root, '.ts', []))
    .filter((file) => !file.endsWith('.test.ts'));
  sources.push('server/build.mjs', 'server/build-externals.mjs', 'server/package.json');
  return sources.every((file) => statSync(file).mtimeMs <= built);
}

/** Runs the files in `shards` processes, each importing its share in turn; prints each one's output whole. */
async function runInShards(files, shards) {
  const groups = Array.from({ length: Math.min(shards, files.length) }, () => []);
  for (const [index, file] of files.entries()) groups[index % groups.length].push(pathToFileURL(file).href);
  const codes = await Promise.all(
    groups.map(
      (group) =>
        new Promise((resolve) => {
          const script = `for (const file of ${JSON.stringify(group)}) await import(file);`;
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', '--test-reporter=spec', '--input-type=module', '-e', script],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let output = '';
          child.stdout.on('data', (chunk) => {
            output += chunk;
          });
          child.stderr.on('data', (chunk) => {
            output += chunk;
          });
          child.on('close', (code) => {
            process.stdout.write(output);
            resolve(code ?? 1);
          });
        }),
    ),
  );
  const failed = codes.filter((code) => code !== 0).length;
  console.log(
    `${files.length} unit test files in ${groups.length} processes: ${failed === 0 ? 'all passed' : `${failed} processes had failures`}`,
  );
  return failed === 0 ? 0 : 1;
}
