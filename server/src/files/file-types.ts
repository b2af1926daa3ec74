// Which files the workers can read: a kind per file, decided from its name, its declared type and its first bytes.

export type FileKind = 'pdf' | 'docx' | 'html' | 'markdown' | 'csv' | 'text' | 'code' | 'image';

export interface FileType {
  kind: FileKind;
  /** The MIME type reported back and used for images' data URLs. */
  mime: string;
}

const codeExtensions = new Set(
  (
    'js mjs cjs jsx ts tsx py rb go rs java kt kts swift c h cc cpp cxx hpp cs php sh bash zsh ps1 sql css scss ' +
    'less vue svelte lua pl r scala dart ex exs erl hs ml clj el vim dockerfile makefile gradle proto graphql'
  ).split(' '),
);
const textExtensions = new Set(
  'txt text log json jsonl yaml yml toml ini cfg conf env xml svg tex rst org srt vtt'.split(' '),
);

function extensionOf(name: string): string {
  const base = name.toLowerCase().split(/[\\/]/).pop() ?? '';
  if (base === 'dockerfile' || base === 'makefile') return base;
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1);
}

function startsWith(head: Uint8Array, bytes: number[], offset = 0): boolean {
  return bytes.every((byte, index) => head[offset + index] === byte);
}

/** The image type the first bytes prove, if any. */
function imageMime(head: Uint8Array): string | undefined {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, [0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (startsWith(head, [0x52, 0x49, 0x46, 0x46]) && startsWith(head, [0x57, 0x45, 0x42, 0x50], 8))
    return 'image/webp';
  return undefined;
}

/**
 * Decides what a file is from its name, declared MIME type and first bytes (at least 16).
 * Binary formats must prove themselves by their magic bytes; a declared type alone is not trusted.
 * Returns undefined for a file the workers cannot read (answered 415).
 */
export function detectFileType(name: string, declaredMime: string, head: Uint8Array): FileType | undefined {
  const extension = extensionOf(name);
  const declared = declaredMime.toLowerCase().split(';')[0]?.trim() ?? '';
  const image = imageMime(head);
  if (image !== undefined) return { kind: 'image', mime: image };
  if (startsWith(head, [0x25, 0x50, 0x44, 0x46, 0x2d])) return { kind: 'pdf', mime: 'application/pdf' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) {
    // A zip: only Word documents are read (the worker checks the inside).
    if (
      extension === 'docx' ||
      declared === 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
    ) {
      return {
        kind: 'docx',
        mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      };
    }
    return undefined;
  }
  // Anything else must be text: no NUL byte in what we have seen.
  if (head.includes(0)) return undefined;
  if (extension === 'html' || extension === 'htm' || declared === 'text/html')
    return { kind: 'html', mime: 'text/html' };
  if (extension === 'md' || extension === 'markdown' || declared === 'text/markdown')
    return { kind: 'markdown', mime: 'text/markdown' };
  if (extension === 'csv' || extension === 'tsv' || declared === 'text/csv')
    return { kind: 'csv', mime: 'text/csv' };
  if (codeExtensions.has(extension)) return { kind: 'code', mime: 'text/plain' };
  if (textExtensions.has(extension) || declared.startsWith('text/') || declared === 'application/json') {
    return { kind: 'text', mime: 'text/plain' };
  }
  return undefined;
}
