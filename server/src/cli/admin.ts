// Entry of `npm run admin -- <command>`: see admin-command.ts.
import { runAdmin } from './admin-command.ts';

const code = await runAdmin(process.argv.slice(2), {
  env: process.env,
  fetch: globalThis.fetch,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.exitCode = code;
