// The extraction child process, one per file: loads its reader, bounds its own address space, then reads the file's
// bytes on stdin and writes its text on fd 3. extract.ts starts it, feeds it, and kills it on time-out or abort.
//   node extract-child.js <kind> <memoryMb> <cpuSeconds>
import { execFileSync } from 'node:child_process';
import { readFileSync, writeSync } from 'node:fs';
import { MAX_TEXT_CHARS, RESULTS_FD, type ReadyLine, type ResultLine } from './extract-protocol.ts';
import { type ExtractInput, extract, preload } from './file-text.ts';

/**
 * Caps this process's address space at what it maps now (node, V8's reservations, the reader's code) plus
 * `memoryMb`, and its CPU time; null when that cannot be done here (no prlimit, no /proc): then only V8's heap limit
 * holds. Taken after the code is loaded, so that the bound measures the file, not node's start-up reservations.
 */
function bindAddressSpace(memoryMb: number, cpuSeconds: number): number | null {
  const mapped = /^VmSize:\s+(\d+) kB$/m.exec(readStatus());
  if (mapped === null) return null;
  const limit = Number(mapped[1]) * 1024 + memoryMb * 1_048_576;
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--as=${limit}`, `--cpu=${cpuSeconds}`], {
      stdio: 'ignore',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return limit;
}

function readStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

function send(data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(RESULTS_FD, bytes, offset);
}

async function readInput(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const data = Buffer.concat(chunks);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // pdf.js refuses a Buffer
}

/** A failed allocation: V8 turns a refused mmap into a RangeError such as "Array buffer allocation failed". */
function isOutOfMemory(error: unknown): boolean {
  // pdf.js hands errors back from its worker as plain Errors: the message is what survives.
  return (
    error instanceof Error && /allocation failed|invalid array length|out of memory/i.test(error.message)
  );
}

async function main(): Promise<void> {
  const [kind, memoryMb, cpuSeconds] = process.argv.slice(2);
  await preload(kind as ExtractInput['kind']);
  const addressSpaceBytes = bindAddressSpace(Number(memoryMb), Number(cpuSeconds));
  send(`${JSON.stringify({ ready: true, addressSpaceBytes } satisfies ReadyLine)}\n`);
  const data = await readInput();
  let text: string;
  try {
    text = await extract({ kind: kind as ExtractInput['kind'], data });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    send(`${JSON.stringify({ ok: false, message, memory: isOutOfMemory(error) } satisfies ResultLine)}\n`);
    return;
  }
  const cut = text.length > MAX_TEXT_CHARS;
  send(`${JSON.stringify({ ok: true, cut } satisfies ResultLine)}\n`);
  send(Buffer.from(cut ? text.slice(0, MAX_TEXT_CHARS) : text, 'utf8'));
}

// A reader may leave handles open (pdf.js's fake worker): the child ends when its answer is written.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
