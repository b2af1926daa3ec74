// The zip bomb check of a DOCX: reads the central directory by the rules of JSZip (the unzipper mammoth uses), refuses
// any zip that another reading could see differently, then really inflates every part JSZip lists, with a bound.
import { createRequire } from 'node:module';
import { inflateRawSync } from 'node:zlib';
import type JSZip from 'jszip';

/** What a DOCX may expand to once unzipped: past it, the document is refused before mammoth inflates anything. */
export const MAX_UNZIPPED_BYTES = 64 * 1024 * 1024;
const MAX_ENTRIES = 10_000;

const END = 0x06054b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

/** A zip refused: its message is what the user reads after `could not read "name":`. */
export class ZipRefusal extends Error {
  override name = 'ZipRefusal';
}

function invalid(reason: string): ZipRefusal {
  return new ZipRefusal(`not a valid Word document (${reason})`);
}

/** The JSZip that mammoth itself requires, not whichever copy the server would resolve: the check must see what it sees. */
function mammothsJSZip(): typeof JSZip {
  const requireHere = createRequire(import.meta.url);
  return createRequire(requireHere.resolve('mammoth'))('jszip') as typeof JSZip;
}

function signatureCount(buffer: Buffer, signature: number): number {
  const needle = Buffer.alloc(4);
  needle.writeUInt32LE(signature);
  let count = 0;
  for (let at = buffer.indexOf(needle); at >= 0; at = buffer.indexOf(needle, at + 1)) count++;
  return count;
}

/** A 64-bit little-endian field as a number; past the file's size (`limit`) it is a lie we need not represent. */
function read64(buffer: Buffer, offset: number, limit = buffer.length): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(limit)) throw invalid('a ZIP64 field points past the end of the file');
  return Number(value);
}

interface Directory {
  offset: number;
  size: number;
  entries: number;
}

/**
 * Where the central directory is, found as JSZip finds it (the last end record; ZIP64 when a field of it is full),
 * and refused when any other reader could find another one: several end records, a ZIP64 record beside a plain
 * one, bytes between the directory and its end record (JSZip would shift every offset by them), a comment that
 * does not end the file.
 */
function locateDirectory(buffer: Buffer): Directory {
  const end = buffer.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0 || end + 22 > buffer.length) throw invalid('no zip directory');
  if (signatureCount(buffer, END) !== 1) throw invalid('several zip end records');
  if (end + 22 + buffer.readUInt16LE(end + 20) !== buffer.length)
    throw invalid('bytes after the zip end record');
  const disk = buffer.readUInt16LE(end + 4);
  const directoryDisk = buffer.readUInt16LE(end + 6);
  const entriesOnDisk = buffer.readUInt16LE(end + 8);
  const entries = buffer.readUInt16LE(end + 10);
  const size = buffer.readUInt32LE(end + 12);
  const offset = buffer.readUInt32LE(end + 16);
  const zip64 =
    [disk, directoryDisk, entriesOnDisk, entries].includes(MAX16) || size === MAX32 || offset === MAX32;
  const locators = signatureCount(buffer, ZIP64_LOCATOR);
  const zip64Ends = signatureCount(buffer, ZIP64_END);
  if (!zip64) {
    if (locators !== 0 || zip64Ends !== 0) throw invalid('a ZIP64 record beside a plain zip directory');
    if (disk !== 0 || directoryDisk !== 0 || entriesOnDisk !== entries) throw invalid('a multi-disk zip');
    if (offset + size !== end) throw invalid('bytes between the zip directory and its end');
    return { offset, size, entries };
  }
  const locator = end - 20;
  if (locators !== 1 || zip64Ends !== 1 || locator < 0 || buffer.readUInt32LE(locator) !== ZIP64_LOCATOR)
    throw invalid('a ZIP64 directory without exactly one locator and end record');
  if (buffer.readUInt32LE(locator + 4) !== 0 || buffer.readUInt32LE(locator + 16) > 1)
    throw invalid('a multi-disk zip');
  const record = read64(buffer, locator + 8);
  if (record + 56 > locator || buffer.readUInt32LE(record) !== ZIP64_END)
    throw invalid('the ZIP64 end record is not where its locator says');
  const recordSize = read64(buffer, record + 4);
  if (recordSize < 44 || record + 12 + recordSize !== locator)
    throw invalid('the ZIP64 end record does not end at its locator');
  if (buffer.readUInt32LE(record + 16) !== 0 || buffer.readUInt32LE(record + 20) !== 0)
    throw invalid('a multi-disk zip');
  const entries64 = read64(buffer, record + 32);
  if (read64(buffer, record + 24) !== entries64) throw invalid('a multi-disk zip');
  const size64 = read64(buffer, record + 40);
  const offset64 = read64(buffer, record + 48);
  if (offset64 + size64 !== record) throw invalid('bytes between the zip directory and its end');
  return { offset: offset64, size: size64, entries: entries64 };
}

interface Entry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  /** The local header .. the end of the compressed bytes, as JSZip reads them. */
  start: number;
  end: number;
}

/** Extra fields by id, split as JSZip splits them; one that overruns its area or repeats an id is refused. */
function extraFields(buffer: Buffer, from: number, to: number): Map<number, Buffer> {
  const fields = new Map<number, Buffer>();
  let at = from;
  while (at + 4 < to) {
    const id = buffer.readUInt16LE(at);
    const length = buffer.readUInt16LE(at + 2);
    if (at + 4 + length > to) throw invalid('an extra field overruns its entry');
    if (fields.has(id)) throw invalid('an extra field given twice');
    fields.set(id, buffer.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return fields;
}

function readEntries(buffer: Buffer, directory: Directory): Entry[] {
  if (directory.entries > MAX_ENTRIES) throw new ZipRefusal('the document has too many parts');
  const entries: Entry[] = [];
  const directoryEnd = directory.offset + directory.size;
  let at = directory.offset;
  for (let index = 0; index < directory.entries; index++) {
    if (at + 46 > directoryEnd || buffer.readUInt32LE(at) !== CENTRAL) throw invalid('broken zip directory');
    const flags = buffer.readUInt16LE(at + 8);
    const method = buffer.readUInt16LE(at + 10);
    let compressedSize = buffer.readUInt32LE(at + 20);
    let uncompressedSize = buffer.readUInt32LE(at + 24);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extraLength = buffer.readUInt16LE(at + 30);
    const commentLength = buffer.readUInt16LE(at + 32);
    const diskStart = buffer.readUInt16LE(at + 34);
    let localOffset = buffer.readUInt32LE(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > directoryEnd) throw invalid('broken zip directory');
    if (flags & 1) throw invalid('an encrypted part');
    if (method !== 0 && method !== 8) throw invalid(`zip method ${method}`);
    if (diskStart !== 0) throw invalid('a multi-disk zip');
    const name = buffer.subarray(at + 46, at + 46 + nameLength);
    // JSZip reads the ZIP64 values, in this order, for the fields that are full, and only for them.
    const zip64 = extraFields(buffer, at + 46 + nameLength, at + 46 + nameLength + extraLength).get(1);
    let field = 0;
    const widened = (value: number, limit = buffer.length): number => {
      if (value !== MAX32) return value;
      if (zip64 === undefined || zip64.length < field + 8)
        throw invalid('a size of 0xFFFFFFFF without its ZIP64 field');
      const wide = read64(zip64, field, limit);
      field += 8;
      return wide;
    };
    uncompressedSize = widened(uncompressedSize, Number.MAX_SAFE_INTEGER);
    compressedSize = widened(compressedSize);
    localOffset = widened(localOffset);
    if (localOffset + 30 > directory.offset || buffer.readUInt32LE(localOffset) !== LOCAL)
      throw invalid('broken zip entry');
    const localNameLength = buffer.readUInt16LE(localOffset + 26);
    const dataStart = localOffset + 30 + localNameLength + buffer.readUInt16LE(localOffset + 28);
    if (dataStart + compressedSize > directory.offset) throw invalid('a part runs into the zip directory');
    // JSZip names a part by its local header; a reader that trusts the directory's name would see another file.
    if (!buffer.subarray(localOffset + 30, localOffset + 30 + localNameLength).equals(name))
      throw invalid('a part named differently in its header and in the directory');
    entries.push({
      name: name.toString('utf8'),
      method,
      compressedSize,
      uncompressedSize,
      start: localOffset,
      end: dataStart + compressedSize,
    });
    at = next;
  }
  if (at !== directoryEnd) throw invalid('the zip directory is not the size it says');
  const sorted = [...entries].sort((left, right) => left.start - right.start);
  for (let index = 1; index < sorted.length; index++) {
    if (sorted[index]!.start < sorted[index - 1]!.end) throw invalid('zip parts overlap');
  }
  return entries;
}

/** The fields JSZip keeps, privately, for a part it loaded and has not inflated yet. */
interface LoadedPart {
  compressedSize: number;
  uncompressedSize: number;
  compression: { magic: string };
  compressedContent: Uint8Array;
}

function isLoadedPart(value: unknown): value is LoadedPart {
  const part = value as Partial<LoadedPart> | null;
  return (
    typeof part === 'object' &&
    part !== null &&
    part.compressedContent instanceof Uint8Array &&
    typeof part.compression?.magic === 'string'
  );
}

/**
 * Refuses a DOCX whose zip is ambiguous or expands past `maxBytes`. The parts inflated are those of JSZip's own entry
 * list (the one mammoth reads), each with zlib's maxOutputLength: the sizes a zip claims are never trusted.
 */
export async function checkDocxZip(data: Uint8Array, maxBytes = MAX_UNZIPPED_BYTES): Promise<void> {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const entries = readEntries(buffer, locateDirectory(buffer));
  let zip: JSZip;
  try {
    zip = await mammothsJSZip().loadAsync(buffer);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  const parts = Object.values(zip.files);
  // JSZip keeps one part per name (after resolving "." and ".."): a duplicate would hide an entry from this count.
  if (parts.length !== entries.length) throw invalid('two parts with the same name');
  let total = 0;
  for (const part of parts) {
    const loaded = (part as unknown as { _data: unknown })._data;
    if (part.dir && !isLoadedPart(loaded)) continue; // JSZip keeps no data for a folder: nothing of it is inflated
    if (!isLoadedPart(loaded)) throw invalid(`unreadable part ${part.name}`);
    if (loaded.compressedContent.byteLength !== loaded.compressedSize) throw invalid('broken zip entry');
    let size: number;
    if (loaded.compression.magic === '\x00\x00') size = loaded.compressedContent.byteLength;
    else if (loaded.compression.magic === '\x08\x00') {
      try {
        size = inflateRawSync(loaded.compressedContent, {
          maxOutputLength: Math.max(1, maxBytes - total + 1),
        }).length;
      } catch (error) {
        if (!(error instanceof RangeError)) throw invalid('a part does not inflate');
        size = maxBytes + 1;
      }
    } else throw invalid('unknown zip method');
    total += size;
    if (total > maxBytes)
      throw new ZipRefusal(`the document expands to more than ${maxBytes / 1_048_576} MB`);
    if (size !== loaded.uncompressedSize) throw invalid('a part is not the size it says');
  }
}
