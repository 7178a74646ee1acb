import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Notifications } from '../../db/notifications';
import { SequenceFeeds } from '../../live';
import { TrainingRunEntity, type TrainingRunStatus } from './training-run.entity';
import { isFinal } from './run-status';
import { TRAINING_CHANNEL, decodeTrainingEvent, inlineLines } from './training-events';
import type { LiveLogs } from './log-writer';
import type { LogLine, TrainingRuns } from './training-runs';
import type { TrainingLogEvent as GeneratedTrainingLogEvent } from '../../../generated/server-types';

/** The SDL's TrainingLogEvent as the hub builds it: every field set, lines without __typename. */
export type TrainingLogEvent = Required<Omit<GeneratedTrainingLogEvent, '__typename' | 'lines'>> & { lines: LogLine[] };

/** The most lines one subscription event carries. */
const MAX_EVENT_LINES = 500;

/**
 * Live training logs and run updates in this process: a sequence feed per followed run
 * (server/live/sequence-feed.ts), told by this process's log writer and by what arrives on
 * TRAINING_CHANNEL from the others.
 */
export class TrainingLogHub implements LiveLogs {
  readonly origin = randomBytes(8).toString('hex');
  private readonly feeds: SequenceFeeds<LogLine, TrainingRunStatus, TrainingLogEvent>;
  private stopListening?: () => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: Notifications,
    training: TrainingRuns,
  ) {
    const runs = dataSource.getRepository(TrainingRunEntity);
    this.feeds = new SequenceFeeds({
      state: async (runId) => {
        const run = await runs.findOneByOrFail({ id: runId });
        return { lastSeq: run.logLineCount, final: isFinal(run.status) ? run.status : null };
      },
      itemsAfter: (runId, afterSeq, limit) => training.linesAfter(runId, afterSeq, limit),
      event: (lines, finalStatus) => ({ lines, finalStatus }),
      maxEventItems: MAX_EVENT_LINES,
    });
  }

  async start(): Promise<void> {
    this.stopListening = await this.notifications.listen(TRAINING_CHANNEL, (payload) => {
      const event = decodeTrainingEvent(payload);
      if (!event || !('runId' in event)) return;
      if (event.type === 'logs') {
        if (event.origin === this.origin) this.feeds.expectOwn(event.runId, event.lastSeq);
        else this.feeds.notified(event.runId, event.lastSeq, inlineLines(event));
      }
      if (event.type === 'changed') this.feeds.changed(event.runId);
    });
    // Notifications sent while the listener reconnected were missed: every feed looks again.
    this.notifications.onReconnect(() => this.feeds.changed());
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.feeds.close();
  }

  /** Lines this process just committed (seq ascending, contiguous). */
  stored(runId: string, lines: LogLine[]): void {
    this.feeds.stored(runId, lines);
  }

  /** Replay after `afterSeq`, then follow; the last event carries the final status. */
  follow(runId: string, afterSeq: number): Promise<AsyncIterableIterator<TrainingLogEvent>> {
    return this.feeds.follow(runId, afterSeq);
  }

  /** The run each time it changes (status, metrics, cost, lines); completes after a final status. */
  updates(runId: string): Promise<AsyncIterableIterator<TrainingRunEntity>> {
    const runs = this.dataSource.getRepository(TrainingRunEntity);
    return this.feeds.watch(
      runId,
      'run',
      () => runs.findOneByOrFail({ id: runId }),
      (run) => isFinal(run.status),
    );
  }
}
