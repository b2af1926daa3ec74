#!/usr/bin/env node
// Packages a release: a production build zipped for Load unpacked and for the Chrome Web Store, maps apart.
// Writes into extension/release/ (or `--outdir <dir>`):
//   chrome-plus-<version>.zip             to unzip and load unpacked: keeps the manifest's `key`, so the id is
//                                         the one the gateway allows by default
//   chrome-plus-<version>-store.zip       to upload to the Developer Dashboard, which refuses a manifest with
//                                         a `key` ("key field is not allowed in manifest") and assigns its own id
//   chrome-plus-<version>-sourcemaps.zip  the source maps, for debugging a stack trace from a shipped build
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdirIndex = process.argv.indexOf('--outdir');
const outdir = outdirIndex >= 0 ? resolve(process.argv[outdirIndex + 1] ?? '') : join(root, 'release');
const { version } = JSON.parse(readFileSync(join(root, '..', 'package.json'), 'utf8'));

function listFiles(directory) {
  return readdirSync(directory, { recursive: true })
    .map((entry) => join(directory, entry))
    .filter((path) => statSync(path).isFile())
    .map((path) => relative(directory, path).split('\\').join('/'))
    .sort();
}

// A fixed date: the same sources give the same bytes, so a published zip can be checked against a rebuild.
const date = new Date('2000-01-01T00:00:00Z');
async function writeZip(path, files) {
  const zip = new JSZip();
  for (const [name, content] of files) zip.file(name, content, { date, createFolders: false });
  const bytes = await zip.generateAsync({
    type: 'nodebuffer',
    compression: 'DEFLATE',
    compressionOptions: { level: 9 },
  });
  writeFileSync(path, bytes);
  console.log(`${path} (${Math.round(bytes.length / 1024)} KiB, ${files.length} files)`);
}

const build = mkdtempSync(join(tmpdir(), 'chrome-plus-release-'));
try {
  const result = spawnSync(process.execPath, [join(root, 'build.mjs'), '--release', '--outdir', build], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);

  const names = listFiles(build);
  const shipped = names
    .filter((name) => !name.endsWith('.map'))
    .map((name) => [name, readFileSync(join(build, name))]);
  const maps = names
    .filter((name) => name.endsWith('.map'))
    .map((name) => [name, readFileSync(join(build, name))]);
  const linked = shipped.filter(([, content]) => content.includes('sourceMappingURL')).map(([name]) => name);
  if (linked.length > 0) throw new Error(`a shipped file still links a source map: ${linked.join(', ')}`);

  const { key: _key, ...storeManifest } = JSON.parse(readFileSync(join(build, 'manifest.json'), 'utf8'));
  const store = shipped.map(([name, content]) =>
    name === 'manifest.json'
      ? [name, Buffer.from(`${JSON.stringify(storeManifest, null, 2)}\n`)]
      : [name, content],
  );

  mkdirSync(outdir, { recursive: true });
  await writeZip(join(outdir, `chrome-plus-${version}.zip`), shipped);
  await writeZip(join(outdir, `chrome-plus-${version}-store.zip`), store);
  await writeZip(join(outdir, `chrome-plus-${version}-sourcemaps.zip`), maps);
} finally {
  rmSync(build, { recursive: true, force: true });
}
