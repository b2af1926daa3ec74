// One file in the composer: its name, size and upload progress, an error said plainly, and a remove button.
import { t } from '../shared/i18n.ts';
import type { AttachmentInfo } from '../store/types.ts';
import { formatBytes } from './export-markdown.ts';
import { icon } from './icons.ts';
import type { Upload, UploadProblem, UploadResult } from './upload.ts';

export type ChipState = 'uploading' | 'ready' | 'error';

export function uploadProblemText(problem: UploadProblem, detail: string, maxBytes?: number): string {
  switch (problem) {
    case 'too_large':
      return maxBytes ? t('uploadTooLargeLimit', [formatBytes(maxBytes)]) : t('uploadTooLarge');
    case 'unsupported':
      return t('uploadUnsupported');
    case 'unauthorized':
      return t('uploadUnauthorized');
    case 'network':
      return t('uploadNetwork');
    default:
      return t('uploadFailed', [detail]);
  }
}

export class AttachmentChip {
  readonly element: HTMLElement;
  state: ChipState;
  attachment: AttachmentInfo | undefined;
  private readonly progress: HTMLElement;
  private readonly status: HTMLElement;
  private upload: Upload | undefined;
  private previewUrl: string | undefined;
  private readonly onChange: () => void;
  private disposed = false;

  /** A chip for a file being uploaded (`upload`), or for one already on the server (`attachment`). */
  constructor(
    source: { file: File; upload: Upload; maxBytes?: number } | { attachment: AttachmentInfo },
    onRemove: (chip: AttachmentChip) => void,
    onChange: () => void,
  ) {
    this.onChange = onChange;
    const info = 'attachment' in source ? source.attachment : undefined;
    const name = info?.name ?? ('file' in source ? source.file.name : '');
    const size = info?.size ?? ('file' in source ? source.file.size : 0);
    const type = info?.type ?? ('file' in source ? source.file.type : '');

    const element = document.createElement('div');
    element.className = 'chip';
    element.dataset.testid = 'attachment-chip';
    element.title = name;
    this.element = element;

    const preview = document.createElement('span');
    preview.className = 'chip-icon';
    if ('file' in source && type.startsWith('image/')) {
      // A pasted screenshot is recognised by its picture; the URL lives as long as the chip.
      this.previewUrl = URL.createObjectURL(source.file);
      const image = document.createElement('img');
      image.src = this.previewUrl;
      image.alt = '';
      preview.append(image);
    } else {
      preview.append(icon(type.startsWith('image/') ? 'image' : 'file'));
    }

    const text = document.createElement('span');
    text.className = 'chip-text';
    const nameElement = document.createElement('span');
    nameElement.className = 'chip-name';
    nameElement.textContent = name;
    this.status = document.createElement('span');
    this.status.className = 'chip-status';
    this.status.dataset.testid = 'attachment-status';
    this.status.textContent = formatBytes(size);
    text.append(nameElement, this.status);

    this.progress = document.createElement('span');
    this.progress.className = 'chip-progress';
    this.progress.dataset.testid = 'attachment-progress';

    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'chip-remove';
    remove.dataset.testid = 'attachment-remove';
    remove.title = t('removeAttachment');
    remove.setAttribute('aria-label', `${t('removeAttachment')}: ${name}`);
    remove.append(icon('close'));
    remove.addEventListener('click', () => onRemove(this));

    element.append(preview, text, remove, this.progress);

    if (info) {
      this.state = 'ready';
      this.attachment = info;
    } else if ('upload' in source) {
      this.state = 'uploading';
      this.upload = source.upload;
      this.setProgress(0);
      const size = formatBytes(source.file.size);
      void source.upload.result.then((result) => this.finish(result, size, source.maxBytes));
    } else {
      this.state = 'error';
    }
    element.dataset.state = this.state;
  }

  setProgress(fraction: number): void {
    if (this.state !== 'uploading') return;
    const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
    this.progress.style.width = `${percent}%`;
    this.element.dataset.progress = String(percent);
  }

  /** Stops an upload in flight and frees the preview. */
  dispose(): void {
    this.disposed = true;
    if (this.state === 'uploading') this.upload?.abort();
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
  }

  private finish(result: UploadResult, size: string, maxBytes: number | undefined): void {
    if (this.disposed) return;
    if (result.ok) {
      this.state = 'ready';
      this.attachment = result.attachment;
      this.status.textContent = size;
    } else {
      this.state = 'error';
      this.status.textContent = uploadProblemText(result.problem, result.detail, maxBytes);
      this.element.dataset.problem = result.problem;
    }
    this.element.dataset.state = this.state;
    this.progress.style.width = '';
    this.onChange();
  }
}
