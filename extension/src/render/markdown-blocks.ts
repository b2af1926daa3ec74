// Splits a growing markdown answer into finished blocks and the one block still being written.
import { Lexer, type Token } from 'marked';

export interface BlockSplit {
  /** Markdown of blocks that later text can no longer change, in order; each is rendered once. */
  completed: string[];
  /** Markdown of the last block, still open: re-rendered as it grows. */
  tail: string;
  /** The tail is a fenced or indented code block (rendered as plain text while it streams). */
  tailIsCode: boolean;
}

/**
 * Keeps the source of one answer and the boundary before which blocks are final.
 *
 * Only the text after that boundary is lexed again, so the work per update follows the size of
 * the open block, not of the answer: a 20,000-token answer costs the same per delta at its end
 * as at its start. A block is final once another non-blank block follows it; the last block
 * stays open because more text may continue it (a paragraph, a list item, an unclosed fence).
 */
export class MarkdownBlockSplitter {
  private source = '';
  private committed = 0;

  /** The whole answer so far. */
  get text(): string {
    return this.source;
  }

  append(text: string): void {
    // marked normalises line endings before lexing; do it here so token lengths match the source.
    this.source += text.replace(/\r\n?/g, '\n');
  }

  reset(text = ''): void {
    this.source = '';
    this.committed = 0;
    this.append(text);
  }

  /** Moves newly finished blocks out of the tail. Each block is returned as completed exactly once. */
  split(): BlockSplit {
    const open = this.source.slice(this.committed);
    const tokens = Lexer.lex(open, { gfm: true });
    const lastBlock = lastNonSpaceIndex(tokens);
    const finished = tokens.slice(0, Math.max(0, lastBlock));
    const consumedText = finished.map((token) => token.raw).join('');
    const tailToken = lastBlock >= 0 ? tokens[lastBlock] : undefined;
    // Token text that does not add up to the source would misplace the boundary: keep all open then.
    if (!open.startsWith(consumedText)) return { completed: [], tail: open, tailIsCode: false };
    const completed: string[] = [];
    for (const token of finished) {
      // Blank lines belong to the block before them (leading ones render as nothing anyway).
      if (token.type !== 'space') completed.push(token.raw);
      else if (completed.length > 0) completed[completed.length - 1] += token.raw;
    }
    this.committed += consumedText.length;
    return { completed, tail: open.slice(consumedText.length), tailIsCode: tailToken?.type === 'code' };
  }
}

function lastNonSpaceIndex(tokens: readonly Token[]): number {
  for (let index = tokens.length - 1; index >= 0; index -= 1) {
    if (tokens[index]?.type !== 'space') return index;
  }
  return -1;
}
