// The composer: text, the page or selection it is about, attached files (button, drop, paste), and editing the last message.
import { required } from '../shared/dom.ts';
import { t } from '../shared/i18n.ts';
import type { AttachmentInfo, MessageContext, UserMessage } from '../store/types.ts';
import { AttachmentChip } from './attachment-chip.ts';
import { contextCard } from './context-card.ts';
import type { Upload } from './upload.ts';

/** What a send carries. `replaces`: the id of the user message it replaces (an edit of the last one). */
export interface Draft {
  text: string;
  context?: MessageContext;
  attachments: AttachmentInfo[];
  replaces?: string;
}

export interface ComposerOptions {
  onSubmit(draft: Draft): void;
  onEditLast(): void;
  startUpload(file: File, onProgress: (fraction: number) => void): { upload: Upload; maxBytes?: number };
}

/** A pasted screenshot arrives as "image.png"; a dated name tells several apart in the conversation. */
function namePasted(file: File, index: number): File {
  if (file.name && file.name !== 'image.png') return file;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const extension = file.type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'png';
  return new File([file], `screenshot-${stamp}${index > 0 ? `-${index + 1}` : ''}.${extension}`, {
    type: file.type,
  });
}

export class Composer {
  private readonly options: ComposerOptions;
  private readonly textarea: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly contextSlot: HTMLElement;
  private readonly chipList: HTMLElement;
  private readonly editingNote: HTMLElement;
  private readonly fileInput: HTMLInputElement;
  private readonly hint: HTMLElement;
  private chips: AttachmentChip[] = [];
  private context: MessageContext | undefined;
  private replaces: string | undefined;
  private busy = false;

  constructor(root: ParentNode, options: ComposerOptions) {
    this.options = options;
    this.textarea = required('[data-testid="composer"]', root);
    this.sendButton = required('[data-testid="send"]', root);
    this.stopButton = required('[data-testid="stop"]', root);
    this.contextSlot = required('[data-testid="composer-context"]', root);
    this.chipList = required('[data-testid="attachment-chips"]', root);
    this.editingNote = required('[data-testid="editing-note"]', root);
    this.fileInput = required('[data-testid="file-input"]', root);
    this.hint = required('.composer-hint', root);

    required<HTMLFormElement>('.composer', root).addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.textarea.addEventListener('keydown', (event) => {
      // Enter sends; Shift+Enter is a new line; Enter while composing CJK input confirms the candidate.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
      if (event.key === 'ArrowUp' && !event.isComposing && this.isEmpty() && !this.busy) {
        event.preventDefault();
        options.onEditLast();
      }
    });
    this.textarea.addEventListener('input', () => this.update());
    // Anywhere in the panel, not only in the composer: a screenshot is pasted wherever the focus is.
    document.addEventListener('paste', (event) => {
      // The history's search and rename boxes take text only.
      if (event.target instanceof HTMLInputElement) return;
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length === 0) return;
      // A screenshot comes alone; text copied with pictures (a document) still pastes as text.
      if (event.target !== this.textarea || !event.clipboardData?.types.includes('text/plain')) {
        event.preventDefault();
      }
      this.addFiles(files.map(namePasted));
    });
    required('[data-testid="attach"]', root).addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.addFiles([...(this.fileInput.files ?? [])]);
      this.fileInput.value = '';
    });
    this.update();
  }

  focus(): void {
    this.textarea.focus();
  }

  get text(): string {
    return this.textarea.value;
  }

  get editing(): boolean {
    return this.replaces !== undefined;
  }

  isEmpty(): boolean {
    return this.textarea.value.length === 0 && !this.context && this.chips.length === 0;
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.stopButton.hidden = !busy;
    this.sendButton.hidden = busy;
    this.update();
  }

  /** The page or selection the next message is about (one at a time: a new one replaces the old). */
  setContext(context: MessageContext | undefined): void {
    this.context = context;
    this.contextSlot.replaceChildren();
    if (context) this.contextSlot.append(contextCard(context, () => this.setContext(undefined)));
    this.contextSlot.hidden = !context;
    this.update();
  }

  addFiles(files: readonly File[]): void {
    for (const file of files) {
      let chip: AttachmentChip | undefined;
      const { upload, maxBytes } = this.options.startUpload(file, (fraction) => chip?.setProgress(fraction));
      chip = new AttachmentChip(
        { file, upload, maxBytes },
        (removed) => this.removeChip(removed),
        () => this.update(),
      );
      this.chips.push(chip);
      this.chipList.append(chip.element);
    }
    this.update();
    this.textarea.focus();
  }

  /** Puts a saved prompt where the cursor is (or replaces the selected text). */
  insertText(text: string): void {
    this.textarea.focus();
    this.textarea.setRangeText(text, this.textarea.selectionStart, this.textarea.selectionEnd, 'end');
    this.update();
  }

  /** Loads a sent message back for editing; sending replaces it (and its answer). */
  edit(message: UserMessage): void {
    this.clear();
    this.replaces = message.id;
    this.textarea.value = message.content;
    this.setContext(message.context);
    for (const attachment of message.attachments ?? []) {
      const chip = new AttachmentChip(
        { attachment },
        (removed) => this.removeChip(removed),
        () => this.update(),
      );
      this.chips.push(chip);
      this.chipList.append(chip.element);
    }
    this.update();
    this.textarea.focus();
    this.textarea.setSelectionRange(this.textarea.value.length, this.textarea.value.length);
  }

  /** Leaves editing with an empty composer; false when there was nothing to cancel. */
  cancelEdit(): boolean {
    if (!this.editing) return false;
    this.clear();
    return true;
  }

  clear(): void {
    for (const chip of this.chips) chip.dispose();
    this.chips = [];
    this.chipList.replaceChildren();
    this.replaces = undefined;
    this.textarea.value = '';
    this.setContext(undefined);
  }

  submit(): void {
    const text = this.textarea.value.trim();
    if (!this.canSend()) return;
    const draft: Draft = {
      text,
      attachments: this.chips.flatMap((chip) => (chip.attachment ? [chip.attachment] : [])),
    };
    if (this.context) draft.context = this.context;
    if (this.replaces) draft.replaces = this.replaces;
    // The files now belong to the message: keep them on the server, drop only the chips.
    for (const chip of this.chips) chip.dispose();
    this.chips = [];
    this.chipList.replaceChildren();
    this.replaces = undefined;
    this.textarea.value = '';
    this.setContext(undefined);
    this.options.onSubmit(draft);
  }

  private canSend(): boolean {
    if (this.busy) return false;
    if (this.chips.some((chip) => chip.state !== 'ready')) return false;
    return this.textarea.value.trim().length > 0 || this.chips.length > 0 || this.context !== undefined;
  }

  private removeChip(chip: AttachmentChip): void {
    chip.dispose();
    chip.element.remove();
    this.chips = this.chips.filter((other) => other !== chip);
    this.update();
    this.textarea.focus();
  }

  private update(): void {
    this.sendButton.disabled = !this.canSend();
    this.chipList.hidden = this.chips.length === 0;
    this.editingNote.hidden = !this.editing;
    const uploading = this.chips.some((chip) => chip.state === 'uploading');
    const failed = this.chips.some((chip) => chip.state === 'error');
    this.hint.textContent = uploading
      ? t('hintUploading')
      : failed
        ? t('hintRemoveFailed')
        : t('composerHint');
    this.hint.dataset.kind = uploading || failed ? 'attention' : '';
    // Grow with the text up to the CSS max-height.
    this.textarea.style.height = 'auto';
    this.textarea.style.height = `${this.textarea.scrollHeight}px`;
  }
}
