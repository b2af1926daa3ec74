// What the panel needs of the browser beyond the socket and storage, injected so tests can stand in.
import type { PageResult } from '../page/current-page.ts';
import type { VideoResult } from '../page/video-transcript.ts';
import type { PendingSelection } from '../shared/selection-handoff.ts';
import type { Settings } from '../shared/settings.ts';
import type { Upload, UploadTarget } from './upload.ts';

export interface PanelEnvironment {
  readPage(budget: number): Promise<PageResult>;
  /** The current tab's video captions as a timestamped transcript (a video page's own caption tracks). */
  readVideo?(budget: number, languages: string[]): Promise<VideoResult>;
  /** Must call chrome.permissions.request before its first await: it runs inside a click. */
  requestPageAccess(): Promise<boolean>;
  /** The file a tab shows (a PDF), to attach; undefined when it cannot be fetched. */
  fetchPageFile(url: string): Promise<File | undefined>;
  takeSelection(): Promise<PendingSelection | undefined>;
  upload(target: UploadTarget, file: File, onProgress: (fraction: number) => void): Upload;
  download(fileName: string, text: string): void;
  saveSettings(settings: Partial<Settings>): Promise<void>;
}
