// An article's DOM as plain text that keeps its shape: headings, paragraphs, list items, code and table rows.

/** Elements whose text is never part of what a page says. */
const skipped = new Set([
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'TEMPLATE',
  'SVG',
  'CANVAS',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'BUTTON',
  'INPUT',
  'SELECT',
  'TEXTAREA',
  'FORM',
  'NAV',
  'DIALOG',
]);

const blocks = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'DD',
  'DETAILS',
  'DIV',
  'DL',
  'DT',
  'FIELDSET',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'HEADER',
  'HR',
  'MAIN',
  'OL',
  'P',
  'SECTION',
  'SUMMARY',
  'TABLE',
  'UL',
]);

export function articleText(root: Node): string {
  const lines: string[] = [];
  let line = '';

  const endLine = () => {
    const text = line.replace(/\s+/g, ' ').trim();
    line = '';
    if (text && !/^(#+|-|\d+\.)$/.test(text)) lines.push(text);
  };
  const endParagraph = () => {
    endLine();
    if (lines.length > 0 && lines.at(-1) !== '') lines.push('');
  };

  const walk = (node: Node, listDepth: number): void => {
    if (node.nodeType === 3) {
      line += node.nodeValue ?? '';
      return;
    }
    if (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11) return;
    const element = node as Element;
    const tag = element.tagName?.toUpperCase() ?? '';
    if (
      skipped.has(tag) ||
      element.getAttribute?.('aria-hidden') === 'true' ||
      element.hasAttribute?.('hidden')
    )
      return;
    const children = () => {
      for (const child of node.childNodes) walk(child, listDepth);
    };
    if (tag === 'BR') {
      endLine();
    } else if (/^H[1-6]$/.test(tag)) {
      endParagraph();
      line = `${'#'.repeat(Number(tag[1]))} `;
      children();
      endParagraph();
    } else if (tag === 'LI') {
      endLine();
      const parent = element.parentElement;
      const ordered = parent?.tagName.toUpperCase() === 'OL';
      const index = parent ? [...parent.children].indexOf(element) + 1 : 1;
      line = `${'  '.repeat(Math.max(0, listDepth - 1))}${ordered ? `${index}.` : '-'} `;
      for (const child of node.childNodes) walk(child, listDepth);
      endLine();
    } else if (tag === 'UL' || tag === 'OL') {
      endParagraph();
      for (const child of node.childNodes) walk(child, listDepth + 1);
      endParagraph();
    } else if (tag === 'PRE') {
      endParagraph();
      // Code keeps its own line breaks and spaces.
      lines.push(`\`\`\`\n${(element.textContent ?? '').replace(/\n+$/, '')}\n\`\`\``, '');
    } else if (tag === 'TR') {
      endLine();
      const cells = [...element.children].map((cell) => (cell.textContent ?? '').replace(/\s+/g, ' ').trim());
      line = cells.join(' | ');
      endLine();
    } else if (tag === 'IMG') {
      const alt = element.getAttribute('alt')?.trim();
      if (alt) line += ` [image: ${alt}] `;
    } else if (blocks.has(tag)) {
      endParagraph();
      children();
      endParagraph();
    } else {
      children();
    }
  };

  walk(root, 0);
  endLine();
  while (lines.at(-1) === '') lines.pop();
  return lines.join('\n');
}
