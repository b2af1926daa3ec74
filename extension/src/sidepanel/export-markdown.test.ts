import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conversationMarkdown, exportFileName, formatBytes } from './export-markdown.ts';

const labels = {
  you: 'You',
  assistant: 'Assistant',
  page: 'Page',
  selection: 'Selection',
  attachments: 'Attachments',
  exported: 'Exported on',
};

test('a conversation exports as Markdown with who said what, and the pages, quotes and files', () => {
  const markdown = conversationMarkdown(
    { id: 'c', title: 'Tides', createdAt: 0, updatedAt: 0 },
    [
      {
        id: 'u1',
        conversationId: 'c',
        role: 'user',
        content: 'Explain this.',
        createdAt: 1,
        context: {
          kind: 'selection',
          text: 'line one\n\nline two',
          title: 'Sea',
          url: 'https://sea.example',
        },
        attachments: [{ fileId: 'f', name: 'tides.csv', size: 2048, type: 'text/csv' }],
      },
      {
        id: 'a1',
        conversationId: 'c',
        role: 'assistant',
        content: 'The **moon** pulls.',
        createdAt: 2,
        reasoning: '',
        requestId: 'r',
        status: 'done',
        lastSeq: 2,
        model: 'deepseek-chat',
      },
    ],
    labels,
    new Date('2026-11-26T10:00:00Z'),
  );
  assert.equal(
    markdown,
    [
      '# Tides',
      '_Exported on 2026-11-26_',
      '## You',
      'Selection: [Sea](https://sea.example)',
      '> line one\n>\n> line two',
      'Attachments: tides.csv (2.0 KB)',
      'Explain this.',
      '## Assistant · deepseek-chat',
      'The **moon** pulls.',
    ]
      .join('\n\n')
      .concat('\n'),
  );
});

test('file names and sizes read well', () => {
  assert.equal(exportFileName('a/b: c?'), 'a b c.md');
  assert.equal(exportFileName('  '), 'conversation.md');
  assert.equal(exportFileName('总结这个页面'), '总结这个页面.md');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(200 * 1024), '200 KB');
  assert.equal(formatBytes(3.5 * 1024 * 1024), '3.5 MB');
});
