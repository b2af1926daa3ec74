// zod for Node: the server composes the protocol's schemas with zod's methods (`chatOptionsSchema.optional()`).
// In a browser build the `browser` condition of `#zod` swaps in zod-mini.ts instead; see frames.ts.
export * from 'zod';
