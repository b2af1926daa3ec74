// Types of build-externals.mjs, for the TypeScript that imports it.
export function buildExternals(paths: (string | URL)[], options?: { dev?: boolean }): string[];
