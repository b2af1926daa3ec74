// Loads highlight.js (its core and grammars, a chunk of their own) without holding up the panel's start.

type Highlight = (code: string, language: string) => string | undefined;

let loadedHighlight: Highlight | undefined;
let loading: Promise<boolean> | undefined;
let settled = false;

/**
 * Starts loading highlight.js, once. Resolves to whether it loaded: if it could not, code stays shown as
 * plain text, which is still correct.
 */
export function loadHighlighter(): Promise<boolean> {
  loading ??= import('./highlight.ts').then(
    (module) => {
      loadedHighlight = module.highlight;
      settled = true;
      return true;
    },
    (error: unknown) => {
      settled = true;
      console.error('Chrome Plus: syntax highlighting could not be loaded', error);
      return false;
    },
  );
  return loading;
}

/** Highlighted HTML of `code` (escaped by highlight.js); undefined for an unknown language or while loading. */
export function highlightIfLoaded(code: string, language: string): string | undefined {
  return loadedHighlight?.(code, language);
}

/** Whether highlight.js is still on its way (once it has loaded, or failed to, there is nothing to wait for). */
export function highlighterPending(): boolean {
  return !settled;
}
