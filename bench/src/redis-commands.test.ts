import assert from 'node:assert/strict';
import { test } from 'node:test';
import { difference, parseCommandStats, parseCpuSeconds, shares } from './redis-commands.ts';

const before = [
  '# Commandstats',
  'cmdstat_spublish:calls=10,usec=100,usec_per_call=10.00,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=4,usec=400,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  'cmdstat_client|setname:calls=1,usec=1,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
].join('\r\n');
const after = [
  '# Commandstats',
  'cmdstat_spublish:calls=110,usec=1100,usec_per_call=10.00,rejected_calls=0,failed_calls=0',
  'cmdstat_xadd:calls=50,usec=900,usec_per_call=18.00,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=8,usec=800,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  'cmdstat_client|setname:calls=1,usec=1,usec_per_call=1.00,rejected_calls=0,failed_calls=0',
].join('\r\n');

test('commandstats: calls per command by upper-case name, and the time in commands but INFO', () => {
  const parsed = parseCommandStats(after);
  assert.equal(parsed.calls.get('SPUBLISH'), 110);
  assert.equal(parsed.calls.get('CLIENT|SETNAME'), 1);
  assert.equal(parsed.usec, 1100 + 900 + 1);
});

test('INFO cpu: user + sys seconds', () => {
  assert.equal(
    parseCpuSeconds('# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.25\r\nused_cpu_sys_children:9\r\n'),
    3.75,
  );
});

test('a window: the differences, most first, without the probe’s INFO calls; shares over the nodes', () => {
  const window = difference(
    '127.0.0.1:7000',
    { ...parseCommandStats(before), cpuSeconds: 1 },
    { ...parseCommandStats(after), cpuSeconds: 1.5 },
    2,
  );
  assert.deepEqual(window.calls, { SPUBLISH: 100, XADD: 50 });
  assert.equal(window.total, 150);
  assert.equal(window.cpuPercent, 25);
  assert.equal(window.commandMs, 1.9);
  const split = shares([window, { ...window, node: 'b', total: 50 }]);
  assert.equal(split.total, 200);
  assert.deepEqual(split.shares, [0.75, 0.25]);
});
