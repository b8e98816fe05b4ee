export { connectStateStore, migrateStateStore } from './db';
export type { RecordKey } from './records';
export { lockRecords, lockRecordRows, saveRecords, readRecordsForUpdate, writeRecords, getRecord, recordMapKey } from './records';
export { KnexCrosswalk, CrosswalkCache, crosswalkMapKey } from './crosswalk-store';
export type { Link } from './crosswalk-store';
export type { ChainVerdict, ChainAnchorClaim, VerifyChainOptions } from './chain-verify';
export type { ChainAnchor, ChainHead, StoredCheckpoint } from './audit-checkpoints';
export { readChainHead, insertCheckpoint, newestCheckpoint, checkpointsAfter, sinkProgress, saveSinkProgress } from './audit-checkpoints';
export type { ConflictRow, ConflictFilter } from './conflict-query';
export { queryConflicts, getConflict, getReview, pendingReviews, insertReview } from './conflict-query';
export type { ReviewRow } from './conflict-query';
export { appendConflicts } from './conflict-log';
export { verifyConflictChain } from './chain-verify';
export type { NewTask, TaskLease } from './outbox';
export type { FoldedTask } from './outbox';
export { enqueueTasks, releaseTasks, releaseEarlierLeases, checkHandedTasks, claimTasks, completeTask, completeTasks, retryTaskLater, markTaskDead, outboxDepth, pruneDoneTasks, holdTask, lockHeldTask, laterOpenTasks, foldIntoHeld, updateLag } from './outbox';
export { writeIntent, deleteIntents, readIntentTasks, recoverIntents, spillTasks, tasksBehindOutbox } from './intents';
export { InstanceLock } from './instance-lock';
export type { InstanceLockOptions } from './instance-lock';
export type { Checkpoint } from './checkpoints';
export { saveCheckpoint, loadCheckpoints, snapshottedTables, markSnapshotted } from './checkpoints';
export type { DeadLetter, DeadLetterRow, DeadLetterFilter, DeadLetterStatus, DeadLetterAging, AgeBucket, Requeued, StoredTaskCopy } from './dead-letters';
export { parkDeadLetters, parkDeadLetter, openDeadLetters, queryDeadLetters, getDeadLetter, resolveDeadLetter, deadLetterAging, requeueDeadTask, AGE_BUCKETS } from './dead-letters';
export type { JournalEntry, JournalFilter, JournalledChange } from './journal';
export { appendJournal, readJournal, journalStart, pruneJournal, findSettingChange } from './journal';
export { KnexKeyAllocations } from './key-allocations';
export type { OpenException, NewException } from './exceptions';
export {
  openExceptionsFor, exceptionOfTask, insertException, exceptionFailedAgain, closeException, discardExceptionOfLetter, restoreShadow, confirmShadow,
  exceptionAging, listOpenExceptions,
} from './exceptions';
export type { RecordState, OpenTask, TaskLetter } from './compare-reads';
export { liveRecordKeys, recordsByKeys, openTasksFor, openTaskLetters } from './compare-reads';
export type { StoredMerge } from './merges';
export { survivorsOf, recordMerges, recordsReferencing, listMerges } from './merges';
