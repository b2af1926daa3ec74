// Turns one file's bytes into text, by kind. Runs in the extraction child process (extract-child.ts), never in a
// server process: a hostile file may exhaust the child, which is bounded and killed.
import { checkDocxZip } from './docx-zip.ts';
import type { FileKind } from './file-types.ts';

export interface ExtractInput {
  kind: Exclude<FileKind, 'image'>;
  data: Uint8Array;
}

function decodeText(data: Uint8Array): string {
  return new TextDecoder('utf-8').decode(data).replace(/^\uFEFF/, '');
}

async function pdfText(data: Uint8Array): Promise<string> {
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const document = await getDocument({
    data,
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    verbosity: 0,
  }).promise;
  const pages: string[] = [];
  for (let number = 1; number <= document.numPages; number++) {
    const page = await document.getPage(number);
    const content = await page.getTextContent();
    let text = '';
    for (const item of content.items) {
      if ('str' in item) text += item.str + (item.hasEOL ? '\n' : '');
    }
    pages.push(text.trim());
    page.cleanup();
  }
  await document.destroy();
  return pages.filter((page) => page !== '').join('\n\n');
}

async function docxText(data: Uint8Array): Promise<string> {
  await checkDocxZip(data);
  const mammoth = await import('mammoth');
  const result = await mammoth.extractRawText({ buffer: Buffer.from(data) });
  return result.value;
}

async function htmlText(data: Uint8Array): Promise<string> {
  const { convert } = await import('html-to-text');
  return convert(decodeText(data), {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'script', format: 'skip' },
      { selector: 'style', format: 'skip' },
      { selector: 'noscript', format: 'skip' },
      { selector: 'nav', format: 'skip' },
      { selector: 'svg', format: 'skip' },
    ],
  });
}

/**
 * Loads the code a kind needs before the file is read, so that the child takes its memory bound with its code in:
 * the bound then measures what the file costs, not the libraries.
 */
export async function preload(kind: ExtractInput['kind']): Promise<void> {
  if (kind === 'pdf') {
    // pdf.js runs its "worker" in this thread when it finds it on globalThis, instead of importing it on first use.
    // @ts-expect-error: pdfjs-dist ships no types for the worker module.
    const worker: unknown = await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
    (globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = worker;
    await import('pdfjs-dist/legacy/build/pdf.mjs');
  } else if (kind === 'docx') {
    await import('mammoth');
  } else if (kind === 'html') {
    await import('html-to-text');
  }
}

export async function extract(input: ExtractInput): Promise<string> {
  switch (input.kind) {
    case 'pdf':
      return pdfText(input.data);
    case 'docx':
      return docxText(input.data);
    case 'html':
      return htmlText(input.data);
    case 'markdown':
    case 'csv':
    case 'text':
    case 'code':
      return decodeText(input.data);
  }
}
