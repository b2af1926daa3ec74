// The esbuild externals of a bundle of ours: every npm package its manifests name stays in node_modules, where it
// keeps the files it reads at run time (BullMQ's Lua scripts, pino's worker threads); workspace packages ship
// TypeScript sources, so they are bundled. Used by server/build.mjs and the bench's build.
import { readFileSync } from 'node:fs';

/** `name` and `name/*` for every dependency (and, with `dev`, devDependency) of the manifests at `paths`. */
export function buildExternals(paths, { dev = false } = {}) {
  const names = new Set();
  for (const path of paths) {
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    for (const name of Object.keys({ ...manifest.dependencies, ...(dev ? manifest.devDependencies : {}) }))
      if (!name.startsWith('@chrome-plus/')) names.add(name);
  }
  return [...names].flatMap((name) => [name, `${name}/*`]);
}
