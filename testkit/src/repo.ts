// Where the repository is: the processes the kit starts run from its root.
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
