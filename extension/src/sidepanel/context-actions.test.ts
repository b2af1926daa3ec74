import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakePanelView, stubI18n } from '../../test/fake-panel-view.ts';
import type { PageResult } from '../page/current-page.ts';
import type { PendingSelection } from '../shared/selection-handoff.ts';
import type { PageContext } from '../store/types.ts';
import type { Draft } from './composer.ts';
import { ContextActions } from './context-actions.ts';

stubI18n();

const page: PageContext = {
  kind: 'page',
  title: 'An article',
  url: 'https://example.com/article',
  text: 'The text.',
  totalCharacters: 9,
};

/** Context actions with the browser, the view and the session played by fakes that record. */
function setUp(options: {
  pages?: PageResult[];
  busy?: boolean;
  granted?: boolean;
  pageFile?: File;
  selection?: PendingSelection;
}) {
  const view = new FakePanelView();
  const pages = [...(options.pages ?? [])];
  const sent: Draft[] = [];
  const calls: string[] = [];
  const actions = new ContextActions({
    environment: {
      readPage: async (budget) => {
        calls.push(`readPage ${budget}`);
        return pages.shift() ?? { ok: false, problem: 'failed' };
      },
      requestPageAccess: async () => {
        calls.push('requestPageAccess');
        return options.granted ?? false;
      },
      fetchPageFile: async (url) => {
        calls.push(`fetchPageFile ${url}`);
        return options.pageFile;
      },
      takeSelection: async () => options.selection,
    },
    view,
    conversation: {
      isBusy: () => options.busy ?? false,
      newChat: () => calls.push('newChat'),
      send: async (draft) => {
        sent.push(draft);
      },
    },
    settings: () => ({ pageBudget: 5_000 }),
  });
  return { actions, view, sent, calls };
}

/** Lets the promise chains a notice's button starts run to their end. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

test('summarize reads the page within the budget and sends it as the context', async () => {
  const { actions, view, sent, calls } = setUp({ pages: [{ ok: true, context: page }] });
  await actions.summarizePage();
  assert.deepEqual(calls, ['readPage 5000']);
  assert.equal(view.notice, undefined, 'the reading notice is gone');
  assert.deepEqual(sent, [{ text: 'promptSummarizePage', context: page, attachments: [] }]);
});

test('summarize while an answer streams asks to wait and reads nothing', async () => {
  const { actions, view, sent, calls } = setUp({ busy: true });
  await actions.summarizePage();
  assert.deepEqual(view.notice, { kind: 'info', text: 'waitForAnswer' });
  assert.deepEqual(calls, []);
  assert.deepEqual(sent, []);
});

test('an unreadable page says why and sends nothing', async () => {
  const { actions, view, sent } = setUp({
    pages: [{ ok: false, problem: 'restricted', url: 'chrome://settings' }],
  });
  await actions.summarizePage();
  assert.deepEqual(view.notice, { kind: 'error', text: 'pageRestricted' });
  assert.deepEqual(sent, []);
});

test('ask about the page puts it in the composer rather than sending', async () => {
  const { actions, view, sent } = setUp({ pages: [{ ok: true, context: page }] });
  await actions.askAboutPage();
  assert.deepEqual(view.composerContext, page);
  assert.deepEqual(sent, []);
});

test('a page without permission offers Allow; once granted, the summary goes on', async () => {
  const { actions, view, sent, calls } = setUp({
    pages: [
      { ok: false, problem: 'permission', url: 'https://example.com/' },
      { ok: true, context: page },
    ],
    granted: true,
  });
  await actions.summarizePage();
  assert.equal(view.notice?.text, 'pageNoPermission');
  assert.equal(view.notice?.action?.label, 'pageAllowAccess');
  view.notice?.action?.run();
  await settle();
  assert.deepEqual(calls, ['readPage 5000', 'requestPageAccess', 'readPage 5000']);
  assert.equal(sent[0]?.context, page);
});

test('a refused permission says so', async () => {
  const { actions, view, sent } = setUp({
    pages: [{ ok: false, problem: 'permission', url: 'https://example.com/' }],
    granted: false,
  });
  await actions.askAboutPage();
  view.notice?.action?.run();
  await settle();
  assert.deepEqual(view.notice, { kind: 'error', text: 'pageAccessDenied' });
  assert.deepEqual(sent, []);
});

test("a PDF in Chrome's viewer can be attached instead; summarize also fills in the prompt", async () => {
  const pdf = new File(['%PDF'], 'paper.pdf', { type: 'application/pdf' });
  const { actions, view, sent, calls } = setUp({
    pages: [{ ok: false, problem: 'pdf', url: 'https://example.com/paper.pdf' }],
    pageFile: pdf,
  });
  await actions.summarizePage();
  assert.equal(view.notice?.text, 'pagePdf');
  assert.equal(view.notice?.action?.label, 'pageAttachPdf');
  view.notice?.action?.run();
  await settle();
  assert.ok(calls.includes('fetchPageFile https://example.com/paper.pdf'));
  assert.deepEqual(view.composer.files, [pdf]);
  assert.equal(view.composer.text, 'promptSummarizeFile');
  assert.deepEqual(sent, [], 'the user sends once the upload is done');
});

test('a PDF that cannot be fetched says so; a PDF of another scheme offers nothing', async () => {
  const fetched = setUp({ pages: [{ ok: false, problem: 'pdf', url: 'https://example.com/paper.pdf' }] });
  await fetched.actions.askAboutPage();
  fetched.view.notice?.action?.run();
  await settle();
  assert.deepEqual(fetched.view.notice, { kind: 'error', text: 'pageFetchFailed' });

  const other = setUp({ pages: [{ ok: false, problem: 'pdf', url: 'chrome-extension://x/paper.pdf' }] });
  await other.actions.askAboutPage();
  assert.equal(other.view.notice?.action, undefined);
});

const selection: PendingSelection = {
  id: 's1',
  action: 'explain',
  text: 'entropy',
  title: 'Physics',
  url: 'https://example.com/physics',
  at: 1,
};
const selectionContext = {
  kind: 'selection',
  text: 'entropy',
  title: 'Physics',
  url: 'https://example.com/physics',
};

test('a selection to explain starts a new chat and sends it with its prompt', async () => {
  const { actions, view, sent, calls } = setUp({ selection });
  view.history.isOpen = true;
  await actions.takeSelection();
  assert.equal(view.history.isOpen, false, 'the history makes way for the answer');
  assert.deepEqual(calls, ['newChat']);
  assert.deepEqual(sent, [{ text: 'promptExplainSelection', context: selectionContext, attachments: [] }]);
});

test('a selection waits in the composer when an answer streams, or when the user asks', async () => {
  const busy = setUp({ selection, busy: true });
  await busy.actions.takeSelection();
  assert.deepEqual(busy.sent, []);
  assert.deepEqual(busy.view.composerContext, selectionContext);
  assert.equal(busy.view.composer.text, 'promptExplainSelection');

  const ask = setUp({ selection: { ...selection, action: 'ask' } });
  await ask.actions.takeSelection();
  assert.deepEqual(ask.sent, []);
  assert.deepEqual(ask.view.composerContext, selectionContext);
  assert.equal(ask.view.composer.text, '');

  const none = setUp({});
  await none.actions.takeSelection();
  assert.deepEqual(none.calls, []);
});
