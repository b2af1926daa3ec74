// Bundles the bench's processes with esbuild, as server/build.mjs bundles the server for production: run by plain
// node, without tsx (whose keepNames adds a property to every closure, a few KB per socket) and without its start-up.
// `serverSource` redirects the bundle's server/src imports to a copy (an experiment kept outside the work tree).
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { REPO_ROOT } from './processes.ts';

/** npm packages stay in node_modules (BullMQ reads its Lua scripts from there); workspace packages are bundled. */
function externals(): string[] {
  const names = new Set<string>();
  for (const manifest of ['server/package.json', 'bench/package.json', 'package.json']) {
    const parsed = JSON.parse(readFileSync(join(REPO_ROOT, manifest), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...parsed.dependencies, ...parsed.devDependencies }))
      if (!name.startsWith('@chrome-plus/')) names.add(name);
  }
  return [...names].flatMap((name) => [name, `${name}/*`]);
}

function redirectServer(serverSource: string): Plugin {
  const original = join(REPO_ROOT, 'server', 'src');
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
} as const;

/** Builds every entry into `outdir`; returns the path of each bundle by entry name. */
export async function buildServers(
  outdir: string,
  serverSource: string | undefined,
): Promise<Record<keyof typeof ENTRIES, string>> {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, path]) => [name, join(REPO_ROOT, path)]),
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
