// The release package (scripts/package.mjs): what the zips hold, the size budget of what each page loads at
// start and of the chunk the panel loads later, no source map linked from a shipped file, and the version
// taken from the root package.json.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';

/** What a page loads at start, in bytes: its script and every chunk that script imports statically. */
const startBudgets: Record<string, number> = {
  // The target: marked (52 KB), DOMPurify (30 KB), zod/mini (28 KB) and the panel's own code. Not
  // highlight.js (below): with it the panel was 266 KB.
  'sidepanel.js': 250_000,
  'options.js': 120_000,
};
/**
 * The chunks the side panel loads with import(), by name without their hash: requested as the panel starts,
 * never waited for (code shown before one arrives is highlighted when it does).
 */
const laterBudgets: Record<string, number> = {
  // highlight.js: its core and the 17 grammars of src/render/highlight.ts (13 KB of it the CSS grammar).
  highlight: 95_000,
};

const extensionRoot = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(extensionRoot, '..', 'package.json'), 'utf8')) as {
  version: string;
};
const outdir = mkdtempSync(join(tmpdir(), 'chrome-plus-package-test-'));
type Files = Map<string, Buffer>;
const zips: Record<'shipped' | 'store' | 'maps', Files> = {
  shipped: new Map(),
  store: new Map(),
  maps: new Map(),
};

async function readZip(name: string): Promise<Files> {
  const zip = await JSZip.loadAsync(readFileSync(join(outdir, name)));
  const files: Files = new Map();
  for (const entry of Object.values(zip.files)) {
    if (!entry.dir) files.set(entry.name, await entry.async('nodebuffer'));
  }
  return files;
}

/** The chunks a shipped script imports, as zip paths: statically (loaded with it), or with import(). */
function importsOf(name: string, kind: 'static' | 'dynamic'): string[] {
  const script = zips.shipped.get(name)?.toString('utf8') ?? '';
  const pattern =
    kind === 'static' ? /\bimport\s*"\.\/([^"]+)"|\bfrom\s*"\.\/([^"]+)"/g : /\bimport\("\.\/([^"]+)"\)/g;
  return [...script.matchAll(pattern)].map((match) => match[1] ?? match[2] ?? '');
}

/** `name` and every chunk it loads statically, transitively: what the browser fetches before it runs. */
function loadedWith(name: string): Set<string> {
  const loaded = new Set([name]);
  for (const script of loaded) for (const chunk of importsOf(script, 'static')) loaded.add(chunk);
  return loaded;
}

function bytesOf(names: Iterable<string>): number {
  let total = 0;
  for (const name of names) total += zips.shipped.get(name)?.length ?? Number.POSITIVE_INFINITY;
  return total;
}

function manifestOf(files: Files): Record<string, unknown> {
  const manifest = files.get('manifest.json');
  assert.ok(manifest, 'the zip has a manifest');
  return JSON.parse(manifest.toString('utf8')) as Record<string, unknown>;
}

before(async () => {
  const result = spawnSync(
    process.execPath,
    [join(extensionRoot, 'scripts', 'package.mjs'), '--outdir', outdir],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0, result.stderr);
  zips.shipped = await readZip(`chrome-plus-${version}.zip`);
  zips.store = await readZip(`chrome-plus-${version}-store.zip`);
  zips.maps = await readZip(`chrome-plus-${version}-sourcemaps.zip`);
});

after(() => rmSync(outdir, { recursive: true, force: true }));

test('the zip holds the built extension: scripts, pages, styles, locales, icons and licences, no sources', () => {
  const names = [...zips.shipped.keys()];
  for (const name of names) assert.match(name, /\.(js|html|css|json|png|LEGAL\.txt)$/, name);
  for (const name of ['background.js', 'sidepanel.js', 'options.js', 'page-reader.js', 'sidepanel.html']) {
    assert.ok(zips.shipped.has(name), `${name} is shipped`);
  }
  for (const locale of ['en', 'zh_CN'])
    assert.ok(zips.shipped.has(`_locales/${locale}/messages.json`), locale);

  // Everything the manifest and the pages load is in the zip.
  const manifest = manifestOf(zips.shipped) as {
    background: { service_worker: string };
    side_panel: { default_path: string };
    options_ui: { page: string };
    icons: Record<string, string>;
  };
  const referenced = [
    manifest.background.service_worker,
    manifest.side_panel.default_path,
    manifest.options_ui.page,
    ...Object.values(manifest.icons),
  ];
  for (const page of names.filter((name) => name.endsWith('.html'))) {
    const html = zips.shipped.get(page)?.toString('utf8') ?? '';
    for (const [, src] of html.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+)"/g))
      referenced.push(src ?? '');
  }
  for (const path of referenced) assert.ok(zips.shipped.has(path), `${path} is referenced and shipped`);
  for (const script of names.filter((name) => name.endsWith('.js'))) {
    for (const chunk of [...importsOf(script, 'static'), ...importsOf(script, 'dynamic')])
      assert.ok(zips.shipped.has(chunk), `${chunk}, imported by ${script}, is shipped`);
  }
});

test('no shipped file links a source map; the maps are kept in a zip of their own', () => {
  for (const zip of [zips.shipped, zips.store]) {
    for (const [name, content] of zip) {
      assert.ok(!name.endsWith('.map'), `${name} is not shipped`);
      assert.ok(!content.includes('sourceMappingURL'), `${name} links no source map`);
    }
  }
  const scripts = [...zips.shipped.keys()].filter((name) => name.endsWith('.js'));
  assert.deepEqual([...zips.maps.keys()].sort(), scripts.map((name) => `${name}.map`).sort());
});

test('what each page loads at start stays within its budget: its script and the chunks it imports', () => {
  for (const [name, budget] of Object.entries(startBudgets)) {
    const loaded = loadedWith(name);
    const bytes = bytesOf(loaded);
    assert.ok(bytes <= budget, `${[...loaded].join(' + ')} is ${bytes} bytes, over its budget of ${budget}`);
  }
});

test('the side panel loads highlight.js later, as a chunk of its own within its budget', () => {
  const atStart = loadedWith('sidepanel.js');
  const later = importsOf('sidepanel.js', 'dynamic');
  assert.deepEqual(
    later.map((chunk) => chunk.replace(/-[A-Z0-9]+\.js$/, '')).sort(),
    Object.keys(laterBudgets).sort(),
  );
  for (const chunk of later) {
    const budget = laterBudgets[chunk.replace(/-[A-Z0-9]+\.js$/, '')] ?? 0;
    assert.ok(!atStart.has(chunk), `${chunk} is not loaded at start`);
    // What it adds to what the panel already has.
    const added = [...loadedWith(chunk)].filter((name) => !atStart.has(name));
    const bytes = bytesOf(added);
    assert.ok(bytes <= budget, `${added.join(' + ')} is ${bytes} bytes, over its budget of ${budget}`);
  }
});

test("the manifest's version is the root package.json's; the store zip differs only by the missing key", () => {
  const manifest = manifestOf(zips.shipped);
  assert.equal(manifest.version, version);
  assert.equal(typeof manifest.key, 'string', 'the unpacked zip keeps the key: the id the gateway allows');
  const { key: _key, ...withoutKey } = manifest;
  assert.deepEqual(manifestOf(zips.store), withoutKey);
  assert.deepEqual([...zips.store.keys()], [...zips.shipped.keys()]);
  for (const [name, content] of zips.store) {
    if (name !== 'manifest.json') assert.ok(content.equals(zips.shipped.get(name) ?? Buffer.alloc(0)), name);
  }
});
