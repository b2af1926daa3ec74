// Scripts of ours in a tab (chrome.scripting): a file injected (it defines its functions on the page's global, again
// each time, harmlessly), and one of those functions called there, by name ("fn" or "object.method"), with arguments
// that cross as JSON; its result, awaited if it is a promise, comes back. Undefined when the tab has no such function.

export async function injectFile(tabId: number, file: string): Promise<void> {
  await chrome.scripting.executeScript({ target: { tabId }, files: [file] });
}

export async function callInTab(tabId: number, name: string, args: unknown[] = []): Promise<unknown> {
  const [result] = await chrome.scripting.executeScript({
    target: { tabId },
    func: (path: string, given: unknown[]) => {
      const [owner, method] = path.includes('.') ? path.split('.') : [undefined, path];
      const scope = (owner === undefined ? globalThis : (globalThis as Record<string, unknown>)[owner]) as
        | Record<string, ((...values: unknown[]) => unknown) | undefined>
        | undefined;
      return scope?.[method!]?.(...given);
    },
    args: [name, args],
  });
  return result?.result;
}

/** `file` injected, then `name` called: what the panel's readers of a page do. */
export async function runInTab(
  tabId: number,
  file: string,
  name: string,
  args: unknown[] = [],
): Promise<unknown> {
  await injectFile(tabId, file);
  return callInTab(tabId, name, args);
}
