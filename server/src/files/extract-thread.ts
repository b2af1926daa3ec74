// Runs in a worker thread with a memory limit: turns one file's bytes into text. A hostile file can exhaust this
// thread (and be terminated), never the worker process.

import { parentPort, workerData } from 'node:worker_threads';
import { inflateRawSync } from 'node:zlib';
import type { FileKind } from './file-types.ts';

export interface ExtractInput {
  kind: Exclude<FileKind, 'image'>;
  data: Uint8Array;
}

export type ExtractOutput = { ok: true; text: string } | { ok: false; message: string };

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

/** What a DOCX (a zip) may expand to: a zip bomb is refused before any library inflates it. */
export const MAX_UNZIPPED_BYTES = 64 * 1024 * 1024;

/**
 * Inflates every entry of a zip, bounded: throws once the total passes `maxBytes`. Zip headers may lie about sizes,
 * so the entries are really inflated (with zlib's maxOutputLength), not trusted.
 */
export function checkZipExpansion(data: Uint8Array, maxBytes = MAX_UNZIPPED_BYTES): void {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const eocd = buffer.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a valid Word document (no zip directory)');
  const entries = buffer.readUInt16LE(eocd + 10);
  if (entries > 10_000) throw new Error('the document has too many parts');
  let offset = buffer.readUInt32LE(eocd + 16);
  let total = 0;
  for (let index = 0; index < entries; index++) {
    if (offset + 46 > buffer.length || buffer.readUInt32LE(offset) !== 0x02014b50)
      throw new Error('not a valid Word document (broken zip directory)');
    const method = buffer.readUInt16LE(offset + 10);
    const compressedSize = buffer.readUInt32LE(offset + 20);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    const localOffset = buffer.readUInt32LE(offset + 42);
    if (localOffset + 30 > buffer.length) throw new Error('not a valid Word document (broken zip entry)');
    const dataStart =
      localOffset + 30 + buffer.readUInt16LE(localOffset + 26) + buffer.readUInt16LE(localOffset + 28);
    const compressed = buffer.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) total += compressed.length;
    else if (method === 8) {
      try {
        total += inflateRawSync(compressed, { maxOutputLength: Math.max(1, maxBytes - total + 1) }).length;
      } catch (error) {
        if (error instanceof RangeError) total = maxBytes + 1;
        else throw new Error('not a valid Word document (a part does not inflate)');
      }
    } else throw new Error(`not a valid Word document (zip method ${method})`);
    if (total > maxBytes) throw new Error(`the document expands to more than ${maxBytes / 1_048_576} MB`);
    offset += 46 + nameLength + extraLength + commentLength;
  }
}

async function docxText(data: Uint8Array): Promise<string> {
  checkZipExpansion(data);
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

if (parentPort !== null && workerData !== undefined) {
  const port = parentPort;
  extract(workerData as ExtractInput).then(
    (text) => port.postMessage({ ok: true, text } satisfies ExtractOutput),
    (error: unknown) =>
      port.postMessage({
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies ExtractOutput),
  );
}
