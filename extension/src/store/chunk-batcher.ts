// Gathers the events of a streaming answer between two writes, so storage sees a few chunks a second.
import type { RequestEvent } from '@chrome-plus/client';
import type { AnswerChunk } from './types.ts';

export class ChunkBatcher {
  private readonly messageId: string;
  private text = '';
  private reasoning = '';
  private reset = false;
  private fromSeq: number | undefined;
  private seq: number | undefined;

  constructor(messageId: string) {
    this.messageId = messageId;
  }

  /** Adds an in-order event; terminal events are written whole elsewhere and ignored here. */
  add(event: RequestEvent): void {
    if (event.type !== 'chat.delta' && event.type !== 'chat.restart') return;
    this.fromSeq ??= event.seq;
    if (event.type === 'chat.delta') {
      this.text += event.text ?? '';
      this.reasoning += event.reasoning ?? '';
      this.seq = event.seq;
    } else {
      // What came before the restart in this batch is void, and so is everything stored before it.
      this.text = '';
      this.reasoning = '';
      this.reset = true;
      this.seq = event.seq;
    }
  }

  /** The chunk to write, or undefined when nothing arrived since the last one. */
  take(): AnswerChunk | undefined {
    if (this.seq === undefined || this.fromSeq === undefined) return undefined;
    const chunk: AnswerChunk = {
      messageId: this.messageId,
      fromSeq: this.fromSeq,
      seq: this.seq,
      text: this.text,
      reasoning: this.reasoning,
      reset: this.reset,
    };
    this.text = '';
    this.reasoning = '';
    this.reset = false;
    this.fromSeq = undefined;
    this.seq = undefined;
    return chunk;
  }
}
