// A long markdown answer cut into token-sized pieces: headings, lists, code, tables and prose, as models write them.

const words = [
  'stream',
  'gateway',
  'worker',
  'token',
  'answer',
  'latency',
  'redis',
  'socket',
  'render',
  'panel',
  'model',
  'delta',
  'resume',
  'sequence',
  'buffer',
  'frame',
  'queue',
  'event',
  'log',
  'browser',
];

/** The markdown source of block `index`: a cycle of paragraph, list, code, quote, table and heading. */
function block(index: number): string {
  const word = (offset: number) => words[(index * 7 + offset) % words.length] ?? 'word';
  switch (index % 6) {
    case 0:
      return `## Section ${index}: the ${word(1)} and the ${word(2)}\n\n`;
    case 1:
      return `The ${word(0)} sends each **${word(3)}** to the ${word(4)}, which keeps a \`${word(5)}\` of it; see [the docs](https://example.com/${word(6)}) for the _details_ of the ${word(7)}.\n\n`;
    case 2:
      return `- first, the ${word(1)} opens\n- then the ${word(2)} follows with ${index} items\n- finally the ${word(3)} closes\n\n`;
    case 3:
      return `\`\`\`ts\nconst ${word(0)}${index} = await ${word(1)}.read(${index});\nif (${word(0)}${index}.length > 0) emit(${word(0)}${index});\n\`\`\`\n\n`;
    case 4:
      return `> A quote about the ${word(2)}: it never loses a ${word(3)}.\n\n`;
    default:
      return `| ${word(0)} | ${word(1)} |\n| --- | --- |\n| ${index} | ${index * 2} |\n\n`;
  }
}

/** Pieces of about four characters whose concatenation is a markdown document of at least `count` pieces. */
export function markdownPieces(count: number): string[] {
  const pieces: string[] = [];
  for (let index = 0; pieces.length < count; index++) {
    const text = block(index);
    for (let start = 0; start < text.length && pieces.length < count; start += 4) {
      pieces.push(text.slice(start, start + 4));
    }
  }
  return pieces;
}
