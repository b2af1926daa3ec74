// One clock for every benchmark process: CLOCK_MONOTONIC (process.hrtime) is machine-wide on Linux, so stamps compare across processes.

/** Microseconds on the machine's monotonic clock, comparable between processes of one boot. */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The stamp a model server writes into a token's text: `@<emit µs> `. The first token also carries `r<request received µs> `. */
export const STAMP_PATTERN = /@(\d+)/g;
export const RECEIVED_PATTERN = /r(\d+)/;
