import type { Dedup } from '../apply';
import { errorMessage } from '../errors';
import type { Logger } from '../log';

/**
 * Marks resolved events in the dedup store without holding up the next
 * batch. The marks only save work on a redelivery (a marked event is dropped
 * before its batch is resolved); the resolver's own position check is what
 * keeps a redelivered change from taking effect twice, so a mark that comes
 * late or not at all costs a little work, never correctness. One mark is in
 * flight at a time: a dedup store slower than the resolve stage slows it.
 */
export class EventMarks {
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly dedup: Dedup, private readonly logger: Logger) {}

  /** Starts marking these events once the previous mark has finished. */
  async mark(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.inFlight;
    this.inFlight = this.dedup.markEvents(ids).catch((error) => {
      this.logger.warn('could not mark resolved events in the dedup store; a redelivery of them is caught by the resolver instead', { error: errorMessage(error), events: ids.length });
    });
  }

  /** Resolves when the marks started so far are written (or have failed). */
  settled(): Promise<void> {
    return this.inFlight;
  }
}
