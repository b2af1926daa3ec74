// Summarises a V8 CPU profile (node --cpu-prof): where the self time went, by function and by package.
// `node --import tsx bench/src/profile-summary.ts FILE.cpuprofile [top]`
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a script belongs: a package under node_modules, a folder of ours, or node itself. */
function packageOf(url: string): string {
  if (url === '') return '(native/VM)';
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const ours = /\/(server|protocol|bench|extension)\/src\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/src/${ours[2]}`;
  return url;
}

export function summariseProfile(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const where = packageOf(frame.url);
    const name = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    const group = where.startsWith('server/') ? where : where.split('/src/')[0]!;
    byPackage.set(group, (byPackage.get(group) ?? 0) + micros);
  }
  const lines = [`profile of ${(total / 1e6).toFixed(1)} s`];
  const percent = (micros: number) => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
  lines.push('\nself time by package or file:');
  for (const [name, micros] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${percent(micros)}  ${name}`);
  lines.push('\nself time by function:');
  for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${percent(micros)}  ${name}`);
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: profile-summary.ts FILE.cpuprofile [top]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  console.log(summariseProfile(profile, Number(process.argv[3] ?? 25)));
}
