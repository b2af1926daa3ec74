// The one DOM lookup every page uses: an element the markup must have, or a clear error naming it.

export function required<T extends Element>(selector: string, root: ParentNode = document): T {
  const element = root.querySelector<T>(selector);
  if (!element) throw new Error(`the markup lacks ${selector}`);
  return element;
}
