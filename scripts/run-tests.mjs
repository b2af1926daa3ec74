#!/usr/bin/env node
// Runs node's test runner (through tsx) on every *.test.ts of the workspace, or on the files/folders given.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

const args = process.argv.slice(2);
const suffixIndex = args.indexOf('--suffix');
const suffix = suffixIndex >= 0 ? args.splice(suffixIndex, 2)[1] : '.test.ts';
const roots = args.length > 0 ? args : ['protocol', 'client', 'testkit', 'server', 'extension'];
const files = roots.flatMap((root) => collect(root, suffix, []));
if (files.length === 0) {
  console.error(`no ${suffix} files under ${roots.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
