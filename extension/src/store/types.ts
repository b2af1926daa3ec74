// What the extension keeps in the browser: conversations, their messages, and answers still streaming.
import type { ChatMessage, Usage } from '@chrome-plus/protocol';
import type { AnswerError, AnswerStatus } from '../client/answer.ts';

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
}

interface MessageBase {
  id: string;
  conversationId: string;
  content: string;
  createdAt: number;
}

export interface UserMessage extends MessageBase {
  role: 'user';
}

export interface AssistantMessage extends MessageBase {
  role: 'assistant';
  /** The chat.send id of the request that produces this answer. */
  requestId: string;
  status: AnswerStatus;
  reasoning: string;
  /** The seq of the last event folded into `content`; a resume starts after it. */
  lastSeq: number;
  /** What was sent, kept while streaming so that a send lost before acceptance can be repeated. */
  request?: { messages: ChatMessage[]; model?: string };
  model?: string;
  finishReason?: string;
  usage?: Usage;
  error?: AnswerError;
}

export type StoredMessage = UserMessage | AssistantMessage;

/**
 * A piece of a streaming answer, written as it arrives so that the cost of a write follows the
 * delta, not the answer. `reset` marks a `chat.restart`: the pieces before it are void.
 */
export interface AnswerChunk {
  messageId: string;
  /** The seq of the first event this piece covers. */
  fromSeq: number;
  /** The seq of the last event this piece covers. */
  seq: number;
  text: string;
  reasoning: string;
  reset: boolean;
}
