// Reads one line from the terminal without echoing it: a token typed here never shows on screen, in `ps`
// or in the shell's history.

/** Asks `question` on stderr and resolves with what is typed up to Enter; undefined on end of input. */
export function readHidden(
  question: string,
  input: NodeJS.ReadStream = process.stdin,
): Promise<string | undefined> {
  // Raw before the question: what is typed after seeing it must never be echoed.
  input.setRawMode(true);
  process.stderr.write(question);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve) => {
    let value = '';
    const done = (result: string | undefined) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      resolve(result);
    };
    const onData = (chunk: string) => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n') return done(value);
        if (character === '\u0004') return done(value === '' ? undefined : value); // Ctrl-D
        if (character === '\u0003') {
          // Ctrl-C: raw mode swallowed the signal, so act on it as the terminal would have.
          input.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        if (character === '\u007f' || character === '\b') value = value.slice(0, -1);
        else if (character >= ' ') value += character;
      }
    };
    input.on('data', onData);
  });
}
