// Production build: bundles the server and the workspace protocol package into dist/, npm packages left external.
import { build } from 'esbuild';
import { buildExternals } from './build-externals.mjs';

// `node build.mjs [--outdir DIR]`: DIR (default dist) is relative to server/; tests build into a directory of their own.
const outdirIndex = process.argv.indexOf('--outdir');
const outdir = outdirIndex > 0 ? process.argv[outdirIndex + 1] : 'dist';
// Workspace packages are bundled; npm packages stay in node_modules (see build-externals.mjs).
const external = buildExternals([new URL('./package.json', import.meta.url)]);

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
  // The accounts database's code (Kysely, pg) in chunks of their own, loaded by the roles that have a database.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  external,
  logLevel: 'warning',
  metafile: true,
});
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
for (const [file, output] of outputs) console.log(`${file}  ${(output.bytes / 1024).toFixed(0)} kB`);
