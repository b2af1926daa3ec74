// What extract.ts and its child process (extract-child.ts) say to each other on the child's fd 3.

/** The text a child returns at most: above ATTACHMENT_MAX_CHARS's ceiling (10 M), so a cut text still gets its note. */
export const MAX_TEXT_CHARS = 10 * 1_048_576;

/** The fd the child answers on, in order: a ready line, a result line, then (when ok) the text in UTF-8. */
export const RESULTS_FD = 3;

/** Sent once the reader's code is loaded and the bound taken; `addressSpaceBytes` is null when none could be. */
export type ReadyLine = { ready: true; addressSpaceBytes: number | null };

export type ResultLine = { ok: true; cut: boolean } | { ok: false; message: string; memory: boolean };
