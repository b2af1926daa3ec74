#!/usr/bin/env node
// Builds the unpacked extension into dist/: bundles the TypeScript entry points, copies static files.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
// `--outdir <dir>` builds elsewhere (the e2e tests build a copy of their own).
const outdirIndex = process.argv.indexOf('--outdir');
const dist = outdirIndex >= 0 ? resolve(process.argv[outdirIndex + 1] ?? '') : join(root, 'dist');
const watch = process.argv.includes('--watch');
// `--release` (scripts/package.mjs): always minified, source maps written beside the scripts but not linked
// from them, so that packaging can keep them out of the zip and nothing in it points at a missing file.
const release = process.argv.includes('--release');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(join(root, 'static'), dist, { recursive: true });

// The version has one source, the root package.json: static/manifest.json has none of its own.
const { version } = JSON.parse(readFileSync(join(root, '..', 'package.json'), 'utf8'));
const manifestPath = join(dist, 'manifest.json');
const { manifest_version, name, description, ...rest } = JSON.parse(readFileSync(manifestPath, 'utf8'));
const manifest = { manifest_version, name, description, version, ...rest };
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

const options = {
  absWorkingDir: root,
  entryPoints: {
    background: 'src/background.ts',
    options: 'src/options/main.ts',
  },
  outdir: dist,
  bundle: true,
  // Pages load their script as a module; the service worker is a classic script.
  format: 'esm',
  target: 'chrome116',
  // The extension never runs Node code: on the browser platform a Node built-in fails the build.
  platform: 'browser',
  minify: release || (!watch && !process.env.NO_MINIFY),
  sourcemap: release ? 'external' : watch ? 'inline' : 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
};

// The side panel on its own, split: what it imports with import() (highlight.js, requested at start and not
// waited for) becomes a chunk beside it. Built apart so that no code it shares with the options page or the
// service worker (a classic script, which could not import a chunk) is moved into a shared chunk.
const sidepanelOptions = {
  ...options,
  entryPoints: { sidepanel: 'src/sidepanel/main.ts' },
  splitting: true,
};

// Injected into web pages with chrome.scripting: a classic script that leaves one function behind.
const pageReaderOptions = {
  ...options,
  entryPoints: { 'page-reader': 'src/page/read-page.ts' },
  format: 'iife',
};

// Page translation's half in the page (translate/page-translator.ts): the same kind of classic script.
const pageTranslatorOptions = {
  ...options,
  entryPoints: { 'page-translator': 'src/translate/page-translator.ts' },
  format: 'iife',
};

// A video page's captions (page/read-captions.ts): the same kind of classic script.
const captionReaderOptions = {
  ...options,
  entryPoints: { 'caption-reader': 'src/page/read-captions.ts' },
  format: 'iife',
};

const builds = [options, sidepanelOptions, pageReaderOptions, pageTranslatorOptions, captionReaderOptions];

if (watch) {
  const { context } = await import('esbuild');
  for (const buildOptions of builds) {
    const buildContext = await context(buildOptions);
    await buildContext.watch();
  }
  console.log('watching extension sources; static files are copied once');
} else {
  const results = await Promise.all(builds.map((buildOptions) => build({ ...buildOptions, metafile: true })));
  const bytes = results
    .flatMap((result) => Object.entries(result.metafile.outputs))
    .filter(([path]) => path.endsWith('.js'))
    .reduce((total, [, output]) => total + output.bytes, 0);
  console.log(`extension ${version} built into ${dist} (${Math.round(bytes / 1024)} KiB of scripts)`);
}
