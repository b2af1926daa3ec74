// Shows a growing markdown answer in the DOM: finished blocks are rendered once, only the open tail again.

import { renderMarkdown } from './markdown.ts';
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
      block.innerHTML = renderMarkdown(markdown);
      this.options.decorate?.(block);
      this.tail.before(block);
    }
    if (split.tailIsCode && split.tail.length > highlightTailLimit) {
      this.tail.replaceChildren(plainCode(split.tail));
    } else {
      this.tail.innerHTML = renderMarkdown(split.tail);
      this.options.decorate?.(this.tail);
    }
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
