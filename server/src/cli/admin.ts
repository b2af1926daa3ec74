// Entry of `npm run admin -- <command>`: see admin-command.ts.
import { runAdmin } from './admin-command.ts';
import { readHidden } from './read-hidden.ts';

/** Standard input whole; at a terminal, a password typed without echo. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return (await readHidden('password: ')) ?? '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const code = await runAdmin(process.argv.slice(2), {
  env: process.env,
  fetch: globalThis.fetch,
  readStdin,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.exitCode = code;
