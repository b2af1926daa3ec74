// Bundles the bench's processes with esbuild, as server/build.mjs bundles the server for production: run by plain
// node, without tsx (whose keepNames adds a property to every closure, a few KB per socket) and without its start-up.
// `serverSource` redirects the bundle's server/src imports to a copy (an experiment kept outside the work tree).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildExternals } from '@chrome-plus/server/build-externals';
import { repoRoot } from '@chrome-plus/testkit';
import { build, type Plugin } from 'esbuild';

/** npm packages stay in node_modules (BullMQ reads its Lua scripts from there); workspace packages are bundled. */
function externals(): string[] {
  const manifests = ['server/package.json', 'bench/package.json', 'package.json'];
  return buildExternals(
    manifests.map((manifest) => join(repoRoot, manifest)),
    { dev: true },
  );
}

function redirectServer(serverSource: string): Plugin {
  const original = join(repoRoot, 'server', 'src');
  return {
    name: 'redirect-server-src',
    setup(builder) {
      builder.onResolve({ filter: /\.ts$/ }, (args) => {
        if (args.resolveDir === '') return undefined;
        const path = resolve(args.resolveDir, args.path);
        return path.startsWith(`${original}/`)
          ? { path: join(serverSource, path.slice(original.length + 1)) }
          : undefined;
      });
    },
  };
}

export const ENTRIES = {
  system: 'bench/src/servers/system.ts',
  direct: 'bench/src/servers/direct.ts',
  pubsub: 'bench/src/servers/pubsub.ts',
  socketio: 'bench/src/servers/socketio.ts',
  'model-server': 'bench/src/model-server.ts',
  loadgen: 'bench/src/load/loadgen.ts',
  // The server's own entry, as production runs it (the sync target: it opens and migrates the database itself).
  'server-main': 'server/src/main.ts',
  'sync-process': 'bench/src/sync/sync-process.ts',
} as const;

/** Builds every entry into `outdir`; returns the path of each bundle by entry name. */
export async function buildServers(
  outdir: string,
  serverSource: string | undefined,
): Promise<Record<keyof typeof ENTRIES, string>> {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, path]) => [name, join(repoRoot, path)]),
    ),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    external: externals(),
    logLevel: 'warning',
    plugins: serverSource === undefined ? [] : [redirectServer(serverSource)],
  });
  return Object.fromEntries(Object.keys(ENTRIES).map((name) => [name, join(outdir, `${name}.js`)])) as Record<
    keyof typeof ENTRIES,
    string
  >;
}
