// Package boundaries: a file imports another package of the repository only by its name, through a path that
// package's `exports` lists, and only a package it declares; a relative path never leaves its own package.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface WorkspacePackage {
  /** Folder relative to the repository ('' for the root package: scripts and root files). */
  folder: string;
  name: string;
  /** Subpaths of `exports` ('.', './providers', maybe with one '*'); undefined when it has none. */
  exports: string[] | undefined;
  /** Names in dependencies, devDependencies and peerDependencies. */
  declared: Set<string>;
}

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

const skippedFolders = new Set([
  'node_modules',
  'dist',
  '.git',
  '.tsbuild',
  'test-results',
  'release',
  '.data',
]);
const sourceFile = /\.(?:[cm]?ts|tsx|[cm]?js)$/;

interface Manifest {
  name?: string;
  workspaces?: string[];
  exports?: string | Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readManifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

function packageOf(root: string, folder: string): WorkspacePackage {
  const manifest = readManifest(join(root, folder, 'package.json'));
  const exports =
    manifest.exports === undefined
      ? undefined
      : typeof manifest.exports === 'string' ||
          !Object.keys(manifest.exports).some((key) => key.startsWith('.'))
        ? ['.']
        : Object.keys(manifest.exports);
  return {
    folder,
    name: manifest.name ?? folder,
    exports,
    declared: new Set(
      Object.keys({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies }),
    ),
  };
}

/** The root package and every workspace the root package.json lists (plain folders, no globs). */
export function readPackages(root: string): WorkspacePackage[] {
  const workspaces = readManifest(join(root, 'package.json')).workspaces ?? [];
  return [packageOf(root, ''), ...workspaces.map((folder) => packageOf(root, folder.replace(/\/$/, '')))];
}

/** Every source file under `folder` (relative to `root`), skipping build output and dependencies. */
export function sourceFiles(root: string, folder = ''): string[] {
  const files: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(join(root, path))) {
      if (skippedFolders.has(entry)) continue;
      const child = path === '' ? entry : `${path}/${entry}`;
      if (statSync(join(root, child)).isDirectory()) walk(child);
      else if (sourceFile.test(entry) && !entry.endsWith('.d.ts') && !entry.endsWith('.d.mts'))
        files.push(child);
    }
  };
  walk(folder);
  return files;
}

const importPatterns = [
  // import x from '…', import { a } from '…', import type …, export … from '…' (over several lines too)
  /(?:^|[\n;])\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"\n]+)['"]/g,
  // import '…' (side effects only)
  /(?:^|[\n;])\s*import\s*['"]([^'"\n]+)['"]/g,
  // import('…'), require('…')
  /\b(?:import|require)\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g,
];

/** The module specifiers a source text imports, in no particular order. */
export function importSpecifiers(text: string): string[] {
  const found = new Set<string>();
  for (const pattern of importPatterns) for (const match of text.matchAll(pattern)) found.add(match[1]!);
  return [...found];
}

function owner(packages: WorkspacePackage[], path: string): WorkspacePackage {
  let best = packages.find((candidate) => candidate.folder === '')!;
  for (const candidate of packages) {
    if (candidate.folder === '') continue;
    if (
      (path === candidate.folder || path.startsWith(`${candidate.folder}/`)) &&
      candidate.folder.length > best.folder.length
    )
      best = candidate;
  }
  return best;
}

function exported(exports: string[], subpath: string): boolean {
  return exports.some((key) => {
    const star = key.indexOf('*');
    if (star < 0) return key === subpath;
    return subpath.startsWith(key.slice(0, star)) && subpath.endsWith(key.slice(star + 1));
  });
}

/** The boundary crossings of one file (`file` relative to the repository) that imports `specifiers`. */
export function checkImports(packages: WorkspacePackage[], file: string, specifiers: string[]): Violation[] {
  const from = owner(packages, file);
  const violations: Violation[] = [];
  for (const specifier of specifiers) {
    if (specifier.startsWith('.')) {
      const target = relative('.', join(dirname(file), specifier))
        .split(sep)
        .join('/');
      if (target.startsWith('../')) {
        violations.push({ file, specifier, reason: 'leaves the repository' });
        continue;
      }
      const to = owner(packages, target);
      if (to !== from) {
        violations.push({
          file,
          specifier,
          reason: `reaches into ${to.name} (${target}) by a relative path: import it as ${to.name}`,
        });
      }
      continue;
    }
    const match = /^(@chrome-plus\/[^/]+)(\/.*)?$/.exec(specifier);
    if (match === null) continue;
    const name = match[1]!;
    const subpath = `.${match[2] ?? ''}`;
    const to = packages.find((candidate) => candidate.name === name);
    if (to === undefined) {
      violations.push({ file, specifier, reason: `no workspace package is named ${name}` });
      continue;
    }
    if (to === from) {
      violations.push({ file, specifier, reason: 'a package imports itself by name: use a relative path' });
      continue;
    }
    if (to.exports === undefined || !exported(to.exports, subpath)) {
      violations.push({
        file,
        specifier,
        reason: `${name}'s exports do not list "${subpath}" (they list: ${to.exports?.join(', ') ?? 'nothing'})`,
      });
    }
    if (from.folder !== '' && !from.declared.has(name)) {
      violations.push({
        file,
        specifier,
        reason: `${from.name} does not declare ${name} in its package.json`,
      });
    }
  }
  return violations;
}

/** Every boundary crossing in the repository at `root`. */
export function checkBoundaries(root: string): Violation[] {
  const packages = readPackages(root);
  return sourceFiles(root).flatMap((file) =>
    checkImports(packages, file, importSpecifiers(readFileSync(resolve(root, file), 'utf8'))),
  );
}
