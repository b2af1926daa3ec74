// The DOCX zip check against crafted zips: each shows JSZip (mammoth's unzipper) and a naive reader different
// directories, or lies about sizes; each is refused, and honest zips (ZIP64 included) pass and read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import JSZip from 'jszip';
import mammoth from 'mammoth';
import { checkDocxZip, ZipRefusal } from './docx-zip.ts';

const types =
  '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';
const rels =
  '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>';
const documentXml = (text: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`;

interface Part {
  name: string;
  /** Deflated (raw) bytes, as stored. */
  data: Buffer;
  size: number;
  /** Directory fields written as 0xFFFFFFFF with (or, `omitZip64`, without) their ZIP64 extra field. */
  zip64?: boolean;
  omitZip64?: boolean;
  localName?: string;
  /** Point the directory entry at another part's local header. */
  sharesLocalOf?: number;
}

const part = (name: string, text: string, extra: Partial<Part> = {}): Part => ({
  name,
  data: deflateRawSync(Buffer.from(text)),
  size: Buffer.byteLength(text),
  ...extra,
});

const docParts = (text = 'Honest words.') => [
  part('[Content_Types].xml', types),
  part('_rels/.rels', rels),
  part('word/document.xml', documentXml(text)),
];

interface ZipOptions {
  /** Use a ZIP64 end record (and locator); the plain end record's fields say 0xFFFF/0xFFFFFFFF. */
  zip64End?: boolean;
  /** Bytes of the end record's comment. */
  comment?: Buffer;
  /** Bytes appended after everything. */
  trailing?: Buffer;
  /** A ZIP64 end record and locator before a plain end record that does not ask for them. */
  strayZip64?: Buffer;
}

/** A zip written byte by byte, so that each field can lie. */
function makeZip(parts: Part[], options: ZipOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const localOffsets: number[] = [];
  let offset = 0;
  for (const entry of parts) {
    const localName = Buffer.from(entry.localName ?? entry.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.size, 22);
    local.writeUInt16LE(localName.length, 26);
    localOffsets.push(offset);
    locals.push(local, localName, entry.data);
    offset += 30 + localName.length + entry.data.length;
  }
  parts.forEach((entry, index) => {
    const name = Buffer.from(entry.name);
    const wide = entry.zip64 === true;
    const extra = Buffer.alloc(wide && !entry.omitZip64 ? 4 + 24 : 0);
    const localOffset = localOffsets[entry.sharesLocalOf ?? index]!;
    if (extra.length > 0) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(entry.size), 4);
      extra.writeBigUInt64LE(BigInt(entry.data.length), 12);
      extra.writeBigUInt64LE(BigInt(localOffset), 20);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 4);
    central.writeUInt16LE(45, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(wide ? 0xffffffff : entry.data.length, 20);
    central.writeUInt32LE(wide ? 0xffffffff : entry.size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(wide ? 0xffffffff : localOffset, 42);
    centrals.push(central, name, extra);
  });
  const directory = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  if (options.zip64End) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(parts.length), 24);
    record.writeBigUInt64LE(BigInt(parts.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
    end.writeUInt16LE(0xffff, 8);
    end.writeUInt16LE(0xffff, 10);
    end.writeUInt32LE(0xffffffff, 12);
    end.writeUInt32LE(0xffffffff, 16);
  } else {
    end.writeUInt16LE(parts.length, 8);
    end.writeUInt16LE(parts.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
  }
  if (options.strayZip64) tail.push(options.strayZip64);
  const comment = options.comment ?? Buffer.alloc(0);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...locals, directory, ...tail, end, comment, options.trailing ?? Buffer.alloc(0)]);
}

async function refusal(zip: Buffer): Promise<string> {
  try {
    await checkDocxZip(zip);
  } catch (error) {
    assert.ok(error instanceof ZipRefusal, String(error));
    return error.message;
  }
  assert.fail('the zip was accepted');
}

async function wordText(zip: Buffer): Promise<string> {
  return (await mammoth.extractRawText({ buffer: zip })).value.trim();
}

test('honest zips pass and read: one written by JSZip, one by hand, one with ZIP64 records and fields', async () => {
  const written = new JSZip();
  written.file('[Content_Types].xml', types);
  written.file('_rels/.rels', rels);
  written.file('word/document.xml', documentXml('From JSZip.'));
  const fromJSZip = await written.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
  await checkDocxZip(fromJSZip);
  assert.equal(await wordText(fromJSZip), 'From JSZip.');

  const byHand = makeZip(docParts('By hand.'));
  await checkDocxZip(byHand);
  assert.equal(await wordText(byHand), 'By hand.');

  const zip64 = makeZip(
    docParts('Wide fields.').map((entry) => ({ ...entry, zip64: true })),
    { zip64End: true },
  );
  await checkDocxZip(zip64);
  assert.equal(await wordText(zip64), 'Wide fields.');
});

test('a zip bomb is refused by what its parts really inflate to, whatever their headers claim', async () => {
  const spaces = Buffer.alloc(8 * 1_048_576, 0x20);
  const bomb = [
    ...docParts().slice(0, 2),
    { name: 'word/document.xml', data: deflateRawSync(spaces), size: 100 }, // claims 100 bytes
  ];
  await assert.rejects(checkDocxZip(makeZip(bomb), 4 * 1_048_576), /expands to more than 4 MB/);
  // Through a ZIP64 end record and wide fields, as a reader that ignores ZIP64 would not see it.
  const wide = bomb.map((entry) => ({ ...entry, zip64: true }));
  await assert.rejects(
    checkDocxZip(makeZip(wide, { zip64End: true }), 4 * 1_048_576),
    /expands to more than/,
  );
});

test('several end records: a fake one in the comment, or one more appended, is refused', async () => {
  const honest = makeZip(docParts());
  const fakeEnd = honest.subarray(honest.length - 22);
  assert.match(await refusal(makeZip(docParts(), { comment: fakeEnd })), /several zip end records/);
  assert.match(await refusal(Buffer.concat([honest, fakeEnd])), /several zip end records/);
});

test('bytes after the end record, or between the directory and it, are refused', async () => {
  assert.match(
    await refusal(makeZip(docParts(), { trailing: Buffer.from('junk') })),
    /bytes after the zip end record/,
  );
  // A ZIP64 record and locator that a plain end record does not ask for: JSZip ignores them, other readers do not.
  const record = Buffer.alloc(76);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeUInt32LE(0x07064b50, 56);
  assert.match(
    await refusal(makeZip(docParts(), { strayZip64: record })),
    /ZIP64 record beside a plain zip directory/,
  );
});

test('a size or offset of 0xFFFFFFFF without its ZIP64 field is refused', async () => {
  const parts = docParts();
  parts[2] = { ...parts[2]!, zip64: true, omitZip64: true };
  assert.match(await refusal(makeZip(parts)), /0xFFFFFFFF without its ZIP64 field/);
});

test('overlapping parts, a part named differently in its header, and duplicate names are refused', async () => {
  const parts = docParts();
  const overlapping = [...parts, { ...parts[2]!, sharesLocalOf: 2 }]; // two directory entries, one local part
  assert.match(await refusal(makeZip(overlapping)), /zip parts overlap/);
  const renamed = docParts();
  renamed[2] = { ...renamed[2]!, localName: 'word/documenT.xml' };
  assert.match(await refusal(makeZip(renamed)), /named differently/);
  const twice = [...docParts(), part('word/./document.xml', documentXml('The other one.'))];
  assert.match(await refusal(makeZip(twice)), /two parts with the same name/);
});

test('not a zip at all, and a truncated one, are not valid Word documents', async () => {
  assert.match(await refusal(Buffer.from('hello, not a zip')), /not a valid Word document/);
  const honest = makeZip(docParts());
  assert.match(await refusal(honest.subarray(0, honest.length - 30)), /not a valid Word document/);
});
