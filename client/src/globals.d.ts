// Timers exist in every runtime this client runs in (pages, service workers, Node), but TypeScript declares
// them only in the DOM lib and in @types/node, both of which this package does without.
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(timer: unknown): void;
declare function queueMicrotask(callback: () => void): void;
