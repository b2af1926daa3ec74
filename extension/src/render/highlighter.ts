// Loads highlight.js (its core and grammars, a chunk of their own) without holding up the panel's start.

type Highlight = (code: string, language: string) => string | undefined;

let loadedHighlight: Highlight | undefined;
let loading: Promise<boolean> | undefined;

/**
 * Starts loading highlight.js, once. Resolves to whether it loaded: if it could not, code stays shown as
 * plain text, which is still correct.
 */
export function loadHighlighter(): Promise<boolean> {
  loading ??= import('./highlight.ts').then(
    (module) => {
      loadedHighlight = module.highlight;
      return true;
    },
    (error: unknown) => {
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

/** Whether `highlightIfLoaded` can highlight yet. */
export function highlighterLoaded(): boolean {
  return loadedHighlight !== undefined;
}
