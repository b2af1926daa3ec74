// The saved prompts' menu beside the composer: a click puts a prompt's text where the cursor is.
import { required } from '../shared/dom.ts';
import type { PromptPreset } from '../shared/settings.ts';

export class PresetsMenu {
  private readonly menu = required<HTMLElement>('[data-testid="presets-menu"]');
  private readonly button = required<HTMLButtonElement>('[data-testid="presets-button"]');
  private readonly onPick: (text: string) => void;
  private presets: readonly PromptPreset[] = [];

  constructor(onPick: (text: string) => void) {
    this.onPick = onPick;
    this.button.addEventListener('click', () => this.toggle());
    document.addEventListener('click', (event) => {
      const target = event.target as Node;
      if (this.isOpen && !this.menu.contains(target) && !this.button.contains(target)) this.close();
    });
  }

  get isOpen(): boolean {
    return !this.menu.hidden;
  }

  set(presets: readonly PromptPreset[]): void {
    this.presets = presets;
    this.button.hidden = presets.length === 0;
  }

  /** Closes the menu; `focusButton` gives the focus back to its button (closed with Esc). */
  close(focusButton = false): void {
    this.menu.hidden = true;
    if (focusButton) this.button.focus();
  }

  private toggle(): void {
    if (this.isOpen) {
      this.close();
      return;
    }
    this.menu.replaceChildren(
      ...this.presets.map((preset) => {
        const item = document.createElement('button');
        item.type = 'button';
        item.className = 'menu-item';
        item.dataset.testid = 'preset';
        const name = document.createElement('span');
        name.className = 'menu-item-name';
        name.textContent = preset.name;
        const text = document.createElement('span');
        text.className = 'menu-item-text';
        text.textContent = preset.text;
        item.append(name, text);
        item.addEventListener('click', () => {
          this.close();
          this.onPick(preset.text);
        });
        return item;
      }),
    );
    this.menu.hidden = false;
    this.menu.querySelector<HTMLButtonElement>('.menu-item')?.focus();
  }
}
