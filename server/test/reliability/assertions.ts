// The checks every fault scenario must pass: nothing lost, repeated or left hanging; no protocol violation, no
// leaked secret, no process that died on its own.
import assert from 'node:assert/strict';
import { describeFigures } from './chat-client.ts';
import type { ScenarioResult } from './scenario.ts';

export function assertSound(result: ScenarioResult, context = ''): void {
  const summary = `${describeFigures(result.name, result.figures)}${context}\n${result.details.slice(0, 20).join('\n')}`;
  assert.equal(result.figures.lost, 0, `lost requests: ${summary}`);
  assert.equal(result.figures.duplicated, 0, `duplicated events: ${summary}`);
  assert.equal(result.figures.hung, 0, `requests left hanging: ${summary}`);
  assert.equal(result.figures.violations, 0, `frames that break the protocol: ${summary}`);
  assert.equal(
    result.figures.completed + result.figures.clearErrors + result.figures.refused,
    result.figures.sent,
    `every request ends one clear way: ${summary}`,
  );
  assert.deepEqual(result.leaks, [], `secrets in logs or frames: ${summary}`);
  assert.equal(result.crashes, 0, `processes died on their own: ${summary}`);
}
