// Per-request sequence bookkeeping: applies each event once, in order, and says when to resume.
import type { GenerationEvent } from '@chrome-plus/protocol';

export type TrackVerdict =
  /** The next event in order: apply it. */
  | { kind: 'apply' }
  /** Already applied (a replay overlapping the live stream): drop it. */
  | { kind: 'duplicate' }
  /**
   * Events are missing before this one: drop it and ask for a replay after `resumeAfter`.
   * `resumeAfter` is undefined when such a replay is already on its way, so that a burst of
   * out-of-order events sends one resume, not one per event.
   */
  | { kind: 'gap'; resumeAfter: number | undefined };

/** The seq state of one request. `lastSeq` is the seq of the last event applied (0: none yet). */
export class RequestTracker {
  lastSeq: number;
  /** The `after` of the resume in flight, if any. */
  private resumePendingAfter: number | undefined;

  constructor(lastSeq = 0) {
    this.lastSeq = lastSeq;
  }

  /** Judges an incoming event; on `apply` the tracker has already advanced past it. */
  judge(event: Pick<GenerationEvent, 'seq'>): TrackVerdict {
    if (event.seq <= this.lastSeq) return { kind: 'duplicate' };
    if (event.seq > this.lastSeq + 1) {
      if (this.resumePendingAfter === this.lastSeq) return { kind: 'gap', resumeAfter: undefined };
      this.resumePendingAfter = this.lastSeq;
      return { kind: 'gap', resumeAfter: this.lastSeq };
    }
    this.lastSeq = event.seq;
    this.resumePendingAfter = undefined;
    return { kind: 'apply' };
  }

  /** Notes that a resume after `lastSeq` was sent (e.g. on reconnect), so a gap does not repeat it. */
  resumeSent(): void {
    this.resumePendingAfter = this.lastSeq;
  }

  /** Forgets the pending resume: after a reconnect every socket-level promise is void. */
  resetPending(): void {
    this.resumePendingAfter = undefined;
  }
}
