// Model compare in a conversation: which compared answers are still to choose from, which one was picked, what is shown.
//
// A compared question is one user message followed by two to four answers that share a `compare.group`. Until the user
// picks one (its id kept as the question's `pickedAnswer`), none of them is part of what the model is sent next; once
// picked, the others stay in IndexedDB (a server history merge finds them there and does not bring them back) but are
// neither shown nor sent.
import type { AssistantMessage, StoredMessage, UserMessage } from '../store/types.ts';

/** Whether an answer is a compared one that its question did not pick (yet): out of the conversation's history. */
function leftOut(message: AssistantMessage, question: UserMessage | undefined): boolean {
  return message.compare !== undefined && question?.pickedAnswer !== message.id;
}

/** The messages to show: a picked question's other compared answers go. */
export function shownMessages<Message extends StoredMessage>(messages: readonly Message[]): Message[] {
  let question: UserMessage | undefined;
  return messages.filter((message) => {
    if (message.role === 'user') {
      question = message;
      return true;
    }
    return !(message.compare && question?.pickedAnswer !== undefined && question.pickedAnswer !== message.id);
  });
}

/** The messages that make the model's history: compared answers only when picked. */
export function inHistory(messages: readonly StoredMessage[]): StoredMessage[] {
  let question: UserMessage | undefined;
  return messages.filter((message) => {
    if (message.role === 'user') question = message;
    return message.role === 'user' || !leftOut(message, question);
  });
}

/** The last question's compared answers while none is picked; empty otherwise. */
export function unpickedAnswers(messages: readonly StoredMessage[]): {
  question: UserMessage | undefined;
  answers: AssistantMessage[];
} {
  const index = messages.findLastIndex((message) => message.role === 'user');
  const question = messages[index] as UserMessage | undefined;
  if (question === undefined || question.pickedAnswer !== undefined) return { question, answers: [] };
  const answers = messages
    .slice(index + 1)
    .filter((message): message is AssistantMessage => message.role === 'assistant' && !!message.compare);
  return { question, answers };
}

/** Whether an answer can be picked: it ended with something to say. */
export function pickable(answer: AssistantMessage): boolean {
  return answer.status !== 'streaming' && answer.content.length > 0;
}

/** What sending again picks when the user did not: the first answer to finish well, else the first with text. */
export function firstFinished(answers: readonly AssistantMessage[]): AssistantMessage | undefined {
  const byEnd = answers
    .filter(pickable)
    .sort((left, right) => (left.timing?.endedAt ?? Infinity) - (right.timing?.endedAt ?? Infinity));
  return byEnd.find((answer) => answer.status === 'done') ?? byEnd[0];
}

/**
 * Picks one of the last question's compared answers: sets the question's `pickedAnswer` (the question is returned, to
 * be stored), and returns the conversation without the others, and the others (any still streaming is to be
 * stopped). Undefined when it cannot be picked: not one of the last question's, or not ended with text.
 */
export function pickAnswer(
  messages: readonly StoredMessage[],
  answerId: string,
): { question: UserMessage; messages: StoredMessage[]; dropped: AssistantMessage[] } | undefined {
  const { question, answers } = unpickedAnswers(messages);
  const picked = answers.find((answer) => answer.id === answerId);
  if (!question || !picked || !pickable(picked)) return undefined;
  question.pickedAnswer = picked.id;
  const dropped = answers.filter((answer) => answer !== picked);
  return {
    question,
    messages: messages.filter((message) => !dropped.includes(message as AssistantMessage)),
    dropped,
  };
}
