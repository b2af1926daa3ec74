// Production build: bundles the server and the workspace protocol package into dist/, npm packages left external.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

// `node build.mjs [--outdir DIR]`: DIR (default dist) is relative to server/; tests build into a directory of their own.
const outdirIndex = process.argv.indexOf('--outdir');
const outdir = outdirIndex > 0 ? process.argv[outdirIndex + 1] : 'dist';
const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
// Workspace packages ship TypeScript sources, so they are bundled; npm packages stay in node_modules, where
// they keep the files they read at run time (BullMQ's Lua scripts, pino's worker threads).
const external = Object.keys(manifest.dependencies ?? {})
  .filter((name) => !name.startsWith('@chrome-plus/'))
  .flatMap((name) => [name, `${name}/*`]);

const result = await build({
  // extract-child runs in a child process that src/files/extract.ts starts from the file beside it.
  entryPoints: {
    main: 'src/main.ts',
    'extract-child': 'src/files/extract-child.ts',
    healthcheck: 'src/http/healthcheck.ts',
  },
  absWorkingDir: new URL('.', import.meta.url).pathname,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external,
  logLevel: 'warning',
  metafile: true,
});
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
for (const [file, output] of outputs) console.log(`${file}  ${(output.bytes / 1024).toFixed(0)} kB`);
