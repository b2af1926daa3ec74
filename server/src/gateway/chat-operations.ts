// The chat operations of one authenticated socket: send (admit, claim, enqueue, follow), resume and cancel.
import type { ChatCancelFrame, ChatResumeFrame, ChatSendFrame } from '@chrome-plus/protocol';
import { attachedFiles } from '../files/attachment-policy.ts';
import { requestKey } from '../generations/keys.ts';
import type { RequestState } from '../generations/log.ts';
import { recordSend } from '../history/history-operations.ts';
import type { ChatJob } from '../jobs.ts';
import { searchRefusal, webSearchQuery } from '../search/search-request.ts';
import type { SessionContext } from './session.ts';
import type { SessionIO } from './session-io.ts';
import type { SessionWatches } from './session-watches.ts';

export type ChatOperations = ReturnType<typeof createChatOperations>;

/** `origin`: the socket's name in the history feed. */
export function createChatOperations(
  context: SessionContext,
  io: SessionIO,
  watches: SessionWatches,
  origin = '',
) {
  const { log } = context;
  const { refuse } = io;

  async function enqueue(key: string, owner: string, frame: ChatSendFrame, model: string): Promise<void> {
    const data: ChatJob = {
      key,
      user: owner,
      id: frame.id,
      model,
      messages: frame.messages,
      ...(frame.options !== undefined && { options: frame.options }),
      ...(frame.webSearch === true && { search: { query: webSearchQuery(frame) } }),
    };
    // The job id is the request key: adding it twice (a retried send) is a no-op in BullMQ.
    await context.queue.add('chat', data, { jobId: key });
  }

  async function resumeFrom(key: string, id: string, after: number, known?: RequestState): Promise<void> {
    const state = known ?? (await log.state(key));
    if (state === undefined) return refuse('not_found', `no request "${id}"`, id);
    if (state.terminal && !state.logExists) {
      return refuse('expired', `request "${id}" ended too long ago: its answer is no longer kept`, id);
    }
    if (after > state.seq) {
      // Nothing past the end will ever come for a finished request, and a running one never skips seqs.
      return refuse('bad_request', `request "${id}" has no event ${after}: its last is ${state.seq}`, id);
    }
    watches.watch(key, id, after);
  }

  return {
    async send(frame: ChatSendFrame, owner: string): Promise<void> {
      const sentAt = Date.now();
      const model = frame.model ?? context.defaultModel;
      const key = requestKey(owner, frame.id);
      // The cheap checks first: counting attachments costs no Redis call.
      const attached = attachedFiles(frame.messages, context.attachmentLimits);
      if ('code' in attached) {
        context.hooks?.requestRefused?.(attached.code);
        return refuse(attached.code, attached.message, frame.id);
      }
      if (frame.webSearch === true) {
        const refusal = searchRefusal(frame, context.webSearch === true);
        if (refusal !== undefined) {
          context.hooks?.requestRefused?.(refusal.code);
          return refuse(refusal.code, refusal.message, frame.id);
        }
      }
      const existing = await log.state(key);
      if (existing !== undefined) {
        // The first send wins: a repeat is a resume from the start.
        io.send({ type: 'chat.accepted', id: frame.id });
        if (existing.status === 'pending') await enqueue(key, owner, frame, existing.model);
        return resumeFrom(key, frame.id, 0, existing);
      }
      if (context.providers.resolve(model) === undefined) {
        context.hooks?.requestRefused?.('model_not_found');
        return refuse(
          'model_not_found',
          `model "${model}" is not available; send models.list for the list`,
          frame.id,
        );
      }
      // The budget before the limits: a refused request must not hold a slot. No budget: no call at all.
      const quota = context.checkQuota?.(owner);
      const overBudget = quota === undefined ? undefined : await quota;
      if (overBudget !== undefined) {
        context.hooks?.requestRefused?.(overBudget.code);
        return refuse(overBudget.code, overBudget.message, frame.id, overBudget.retryAfterMs);
      }
      const now = Date.now();
      // The user's slot is held at most for the whole life of a request; the request itself must be started by a
      // worker within the queue wait (the worker then moves its deadline to the end of the generation).
      const deadline = now + context.timeouts.queueWaitMs + context.timeouts.totalMs + 60_000;
      const admission = await context.admission.admit(owner, key, deadline);
      if (!admission.ok) {
        context.hooks?.requestRefused?.('rate_limited');
        return refuse('rate_limited', `rate limited: ${admission.message}`, frame.id, admission.retryAfterMs);
      }
      // Looking the files up costs a Redis call each: only for a request the limits admitted.
      if (attached.fileIds.length > 0 && context.checkFiles !== undefined) {
        const refusal = await context.checkFiles(owner, attached.fileIds);
        if (refusal !== undefined) {
          await context.admission.release(owner, key);
          context.hooks?.requestRefused?.(refusal.code);
          return refuse(refusal.code, refusal.message, frame.id);
        }
      }
      const claim = await log.submit(key, { user: owner, id: frame.id, model });
      if (!claim.created) {
        await context.admission.release(owner, key);
        io.send({ type: 'chat.accepted', id: frame.id });
        return resumeFrom(key, frame.id, 0);
      }
      // The user message before the job: the worker records the answer beside it.
      if (context.history !== undefined && frame.conversationId !== undefined)
        await recordSend(context.history, { user: owner, frame, model, origin, logger: context.logger });
      // Both only once the id is ours; neither waits for the other.
      await Promise.all([
        log.setDeadline(key, now + context.timeouts.queueWaitMs + 5_000),
        enqueue(key, owner, frame, model),
      ]);
      context.hooks?.requestAccepted?.();
      io.send({ type: 'chat.accepted', id: frame.id });
      watches.watch(key, frame.id, 0, sentAt);
    },

    resume(frame: ChatResumeFrame, owner: string): Promise<void> {
      return resumeFrom(requestKey(owner, frame.id), frame.id, frame.after);
    },

    async cancel(frame: ChatCancelFrame, owner: string): Promise<void> {
      const key = requestKey(owner, frame.id);
      const outcome = await log.requestCancel(key);
      if (outcome === 'missing') return refuse('not_found', `no request "${frame.id}"`, frame.id);
      if (outcome === 'pending') {
        // Still queued: take it out of the queue so that no worker ever calls the model for it.
        const removed = await context.queue.remove(key);
        if (removed === 1 || (await context.queue.getJob(key)) === undefined) {
          await log.finish(key, '', { type: 'chat.cancelled' }, owner);
        }
      }
      // A watch of this socket delivers the terminal event, or already did (perhaps while we awaited): never twice.
      if (!watches.delivers(key)) {
        // The socket receives the request's terminal event: follow from just before the end, or from now.
        const state = await log.state(key);
        if (state !== undefined) watches.watch(key, frame.id, state.terminal ? state.seq - 1 : state.seq);
      }
    },
  };
}
