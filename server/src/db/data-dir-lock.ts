// PGlite admits one process per data directory: a lock file with the owner's pid says who has it. A lock whose
// process is gone (killed, crashed) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirInUse extends Error {
  override name = 'DataDirInUse';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, run by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dataDir` (which must exist); returns its release. Throws DataDirInUse if a live process holds it. */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'chrome-plus.lock');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(path, 'utf8').trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new DataDirInUse(
        `the embedded database in ${dataDir} is in use by process ${owner}: PGlite admits one process. Run gateways and workers apart only with DATABASE_URL (a PostgreSQL server they share)`,
      );
    }
    rmSync(path, { force: true });
  }
  throw new DataDirInUse(`could not take the lock of ${dataDir}`);
}
