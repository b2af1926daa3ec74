// Shows a growing markdown answer in the DOM: finished blocks are rendered once, only the open tail again.

import { renderMarkdownBlock, whenHighlighterLoads } from './markdown.ts';
import { MarkdownBlockSplitter } from './markdown-blocks.ts';

export interface StreamingMarkdownOptions {
  /** Called once on every element built from rendered HTML (adds copy buttons to code blocks). */
  decorate?: (element: HTMLElement) => void;
  /** The longest a delta waits before it shows, in ms. */
  renderIntervalMs?: number;
}

/** An open code block longer than this streams as plain text; it is highlighted once it is finished. */
const highlightTailLimit = 4_000;

export class StreamingMarkdown {
  readonly element: HTMLElement;
  private readonly splitter = new MarkdownBlockSplitter();
  private readonly options: StreamingMarkdownOptions;
  private tail: HTMLElement;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Finished blocks with code shown plain because highlight.js had not loaded yet, with their markdown. */
  private awaitingHighlighter: { block: HTMLElement; markdown: string }[] = [];
  private tailAwaitsHighlighter = false;
  private waitingForHighlighter = false;

  constructor(options: StreamingMarkdownOptions = {}) {
    this.options = options;
    this.element = document.createElement('div');
    this.element.className = 'markdown';
    this.tail = this.newTail();
  }

  get text(): string {
    return this.splitter.text;
  }

  /** Adds text; the DOM catches up within `renderIntervalMs`. Cost: proportional to `text`. */
  append(text: string): void {
    if (!text) return;
    this.splitter.append(text);
    this.timer ??= setTimeout(() => this.render(), this.options.renderIntervalMs ?? 40);
  }

  /** Replaces everything (a restart, or an answer loaded from storage), rendered at once. */
  reset(text = ''): void {
    this.splitter.reset(text);
    this.element.replaceChildren();
    this.awaitingHighlighter = [];
    this.tail = this.newTail();
    this.render();
  }

  /** Renders what is pending now (the answer ended, or is about to be measured). */
  flush(): void {
    this.render();
  }

  private newTail(): HTMLElement {
    const tail = document.createElement('div');
    tail.className = 'block block-open';
    this.element.append(tail);
    return tail;
  }

  private render(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const split = this.splitter.split();
    for (const markdown of split.completed) {
      const block = document.createElement('div');
      block.className = 'block';
      if (this.renderInto(block, markdown)) this.awaitingHighlighter.push({ block, markdown });
      this.tail.before(block);
    }
    if (split.tailIsCode && split.tail.length > highlightTailLimit) {
      this.tail.replaceChildren(plainCode(split.tail));
      this.tailAwaitsHighlighter = false;
    } else {
      this.tailAwaitsHighlighter = this.renderInto(this.tail, split.tail);
    }
    if (this.awaitingHighlighter.length > 0 || this.tailAwaitsHighlighter) this.waitForHighlighter();
  }

  /** Renders `markdown` into `block`; true if its code is to be highlighted once highlight.js loads. */
  private renderInto(block: HTMLElement, markdown: string): boolean {
    const rendered = renderMarkdownBlock(markdown);
    block.innerHTML = rendered.html;
    this.options.decorate?.(block);
    return rendered.awaitsHighlighter;
  }

  /**
   * Code rendered in the panel's first moments, before highlight.js arrived, is shown as plain text; once it
   * arrives, those blocks are rendered again from their markdown, through the same sanitizer, in place.
   */
  private waitForHighlighter(): void {
    if (this.waitingForHighlighter) return;
    this.waitingForHighlighter = true;
    void whenHighlighterLoads().then((loaded) => {
      this.waitingForHighlighter = false;
      const awaiting = this.awaitingHighlighter;
      this.awaitingHighlighter = [];
      // Had it failed to load, the code stays as it is shown: plain text.
      if (!loaded) return;
      for (const { block, markdown } of awaiting) this.renderInto(block, markdown);
      // The open block is rendered from the source again anyway; now, in case no delta follows.
      if (this.tailAwaitsHighlighter) this.render();
    });
  }
}

/** An open fence as text: built with textContent, so it needs no sanitizing and no highlighting. */
function plainCode(markdown: string): HTMLElement {
  const wrapper = document.createElement('div');
  wrapper.className = 'code-block';
  const pre = document.createElement('pre');
  const code = document.createElement('code');
  code.className = 'hljs';
  code.textContent = markdown.replace(/^\s*(```|~~~)[^\n]*\n?/, '');
  pre.append(code);
  wrapper.append(pre);
  return wrapper;
}
