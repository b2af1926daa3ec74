import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutToBudget, problemOfScriptError, problemOfUrl } from './page-access.ts';

test('pages closed to every extension are known by their address, before any try', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['chrome://settings', 'restricted'],
    ['chrome-extension://abc/options.html', 'restricted'],
    ['about:blank', 'restricted'],
    ['view-source:https://example.com', 'restricted'],
    ['https://chromewebstore.google.com/detail/xyz', 'webstore'],
    ['https://chrome.google.com/webstore/category/extensions', 'webstore'],
    ['https://example.com/report.PDF', 'pdf'],
    ['https://example.com/article', undefined],
    ['file:///home/me/notes.html', undefined],
    [undefined, undefined],
  ];
  for (const [url, problem] of cases) assert.equal(problemOfUrl(url), problem, url);
});

test("chrome.scripting's refusals become problems a user can act on", () => {
  assert.equal(problemOfScriptError('The extensions gallery cannot be scripted.'), 'webstore');
  assert.equal(problemOfScriptError('Cannot access a chrome:// URL'), 'restricted');
  assert.equal(
    problemOfScriptError(
      'Cannot access contents of the page. Extension manifest must request permission to access the respective host.',
    ),
    'permission',
  );
  assert.equal(problemOfScriptError('Cannot access contents of url "file:///tmp/a.html".'), 'file');
  assert.equal(problemOfScriptError('Frame with ID 0 is showing error page'), 'failed');
});

test('a long text is cut to the budget at a paragraph or sentence end near it', () => {
  const paragraphs = Array.from({ length: 50 }, (_, index) => `Paragraph ${index} says something useful.`);
  const text = paragraphs.join('\n\n');
  const cut = cutToBudget(text, 400);
  assert.ok(cut.length <= 400);
  assert.ok(cut.length >= 320, 'not much less than the budget');
  assert.match(cut, /useful\.$/, 'ends at the end of a paragraph');
  assert.equal(cutToBudget('short', 400), 'short');
  const oneLine = 'x'.repeat(1000);
  assert.equal(cutToBudget(oneLine, 100).length, 100, 'no boundary near: a hard cut');
  assert.match(
    cutToBudget(`${'中文句子。'.repeat(100)}`, 52),
    /。$/,
    'a Chinese full stop is a sentence end',
  );
});
