// The header of a compared answer: its model, its time to first token and speed (characters per second), a stop
// button while it streams and "Continue with this" once it ended with text.
import type { AnswerState } from '@chrome-plus/client';
import { t } from '../shared/i18n.ts';
import type { AnswerTiming, AssistantMessage } from '../store/types.ts';
import { charactersPerSecond, formatSeconds, timeToFirstText, timingAfter } from './answer-timing.ts';

export interface CompareHeaderActions {
  onPick(messageId: string): void;
  onStopAnswer(requestId: string): void;
}

export class CompareHeader {
  readonly element: HTMLElement;
  private readonly metrics: HTMLElement;
  private readonly pickButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly pickedBadge: HTMLElement;
  private timing: AnswerTiming | undefined;
  private isPicked: boolean;

  constructor(
    message: AssistantMessage & { compare: { model: string } },
    picked: boolean,
    actions: CompareHeaderActions,
  ) {
    this.timing = message.timing;
    this.isPicked = picked;
    this.element = document.createElement('div');
    this.element.className = 'compare-header';
    const model = document.createElement('span');
    model.className = 'compare-model-name';
    model.dataset.testid = 'compare-model-name';
    model.textContent = message.compare.model;
    this.metrics = document.createElement('span');
    this.metrics.className = 'compare-metrics';
    this.metrics.dataset.testid = 'compare-metrics';
    this.metrics.title = t('compareMetricsTitle');
    this.stopButton = document.createElement('button');
    this.stopButton.type = 'button';
    this.stopButton.className = 'link-button compare-stop';
    this.stopButton.dataset.testid = 'compare-stop';
    this.stopButton.textContent = t('stop');
    this.stopButton.title = t('compareStop');
    this.stopButton.addEventListener('click', () => actions.onStopAnswer(message.requestId));
    this.pickButton = document.createElement('button');
    this.pickButton.type = 'button';
    this.pickButton.className = 'compare-pick';
    this.pickButton.dataset.testid = 'compare-pick';
    this.pickButton.textContent = t('comparePick');
    this.pickButton.title = t('comparePickTitle');
    this.pickButton.addEventListener('click', () => actions.onPick(message.id));
    this.pickedBadge = document.createElement('span');
    this.pickedBadge.className = 'compare-picked';
    this.pickedBadge.dataset.testid = 'compare-picked';
    this.pickedBadge.textContent = t('comparePicked');
    this.element.append(model, this.metrics, this.stopButton, this.pickButton, this.pickedBadge);
  }

  /** Redraws after an event; `before` is the answer before it (the first text and the end are dated here). */
  update(before: AnswerState | undefined, state: AnswerState): void {
    if (this.timing && before) this.timing = timingAfter(this.timing, before, state, Date.now());
    const streaming = state.status === 'streaming';
    const ttft = timeToFirstText(this.timing);
    const rate = charactersPerSecond(this.timing, state.text.length, Date.now());
    const parts = [t('compareTtft', [ttft === undefined ? '…' : formatSeconds(ttft)])];
    if (rate !== undefined) parts.push(t('compareSpeed', [String(Math.round(rate))]));
    this.metrics.textContent = parts.join(' · ');
    this.stopButton.hidden = !streaming;
    this.pickButton.hidden = this.isPicked || streaming || state.text.length === 0;
    this.pickedBadge.hidden = !this.isPicked;
  }

  get picked(): boolean {
    return this.isPicked;
  }

  setPicked(state: AnswerState): void {
    this.isPicked = true;
    this.update(undefined, state);
  }
}
