// The conversation's messages on screen: user bubbles and live answer views, the empty state, following the bottom.
import { required } from '../shared/dom.ts';
import type { AssistantMessage, StoredMessage } from '../store/types.ts';
import type { ConnectionProblem } from './connection-indicator.ts';
import { type AssistantMessageActions, AssistantMessageView } from './message-view.ts';
import { createUserMessage } from './user-message.ts';

export class MessageList {
  private readonly scroller = required<HTMLElement>('.messages');
  private readonly list = required<HTMLElement>('.message-list');
  private readonly empty = required<HTMLElement>('[data-testid="empty-state"]');
  private readonly answers = new Map<string, AssistantMessageView>();
  private readonly actions: AssistantMessageActions;
  private connectionProblem: ConnectionProblem = 'none';
  /** Follow new text only while the reader is at the bottom; never yank them back from above. */
  private stickToBottom = true;
  /** The last question's picked answer (model compare), to draw its answers as they are added. */
  private pickedAnswer: string | undefined;

  constructor(actions: AssistantMessageActions) {
    this.actions = actions;
    this.scroller.addEventListener('scroll', () => {
      const distance = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight;
      this.stickToBottom = distance < 60;
    });
    new ResizeObserver(() => this.followBottom()).observe(this.list);
  }

  /** The shown conversation, marked on the list so the history can highlight it. */
  get conversationId(): string | undefined {
    return this.list.dataset.conversationId;
  }

  set conversationId(conversationId: string | undefined) {
    if (conversationId) this.list.dataset.conversationId = conversationId;
    else delete this.list.dataset.conversationId;
  }

  /** The user sent something: follow it down even if they had scrolled up. */
  followNext(): void {
    this.stickToBottom = true;
  }

  /** Replaces the list with a conversation (or the empty state when there is none). */
  show(messages: readonly StoredMessage[]): void {
    for (const view of this.answers.values()) view.dispose();
    this.answers.clear();
    this.list.replaceChildren();
    for (const message of messages) this.add(message);
    this.stickToBottom = true;
    this.updateEmpty();
    this.followBottom();
  }

  add(message: StoredMessage): AssistantMessageView | undefined {
    let result: AssistantMessageView | undefined;
    if (message.role === 'user') {
      this.pickedAnswer = message.pickedAnswer;
      this.list.append(createUserMessage(message));
    } else {
      result = this.addAnswer(message);
    }
    this.updateEmpty();
    return result;
  }

  remove(messageId: string): void {
    this.answers.get(messageId)?.dispose();
    this.answers.delete(messageId);
    const element = this.list.querySelector(`[data-message-id="${CSS.escape(messageId)}"]`);
    const group = element?.parentElement;
    element?.remove();
    if (group?.classList.contains('compare-group') && group.childElementCount === 0) group.remove();
    this.markLastAnswer();
    this.updateEmpty();
  }

  answer(messageId: string): AssistantMessageView | undefined {
    return this.answers.get(messageId);
  }

  /** Model compare: the conversation goes on with this answer (the others were removed). */
  answerPicked(messageId: string): void {
    this.answers.get(messageId)?.setPicked();
  }

  setConnectionProblem(problem: ConnectionProblem): void {
    this.connectionProblem = problem;
    for (const view of this.answers.values()) view.setConnectionProblem(problem);
  }

  private addAnswer(message: AssistantMessage): AssistantMessageView {
    const view = new AssistantMessageView(message, this.actions, message.id === this.pickedAnswer);
    view.setConnectionProblem(this.connectionProblem);
    this.answers.set(message.id, view);
    this.groupOf(message).append(view.element);
    this.markLastAnswer();
    return view;
  }

  /** Where an answer goes: compared answers share a group (stacked, or side by side in a wide panel). */
  private groupOf(message: AssistantMessage): HTMLElement {
    const group = message.compare?.group;
    if (group === undefined) return this.list;
    const last = this.list.lastElementChild;
    if (last instanceof HTMLElement && last.dataset.compareGroup === group) return last;
    const element = document.createElement('div');
    element.className = 'compare-group';
    element.dataset.testid = 'compare-group';
    element.dataset.compareGroup = group;
    this.list.append(element);
    return element;
  }

  private markLastAnswer(): void {
    const views = [...this.answers.values()];
    views.forEach((view, index) => {
      view.setLast(index === views.length - 1);
    });
  }

  private updateEmpty(): void {
    this.empty.hidden = this.list.childElementCount > 0;
  }

  private followBottom(): void {
    if (this.stickToBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}
