import knexFactory, { type Knex } from 'knex';
import { StateStoreError } from '../errors';
import * as initial from './migrations/001_initial';
import * as reviewJournal from './migrations/002_review_journal';
import * as outboxClaimIndex from './migrations/003_outbox_claim_index';
import * as outboxStatistics from './migrations/004_outbox_statistics';
import * as deadLetterResolution from './migrations/005_dead_letter_resolution';
import * as writeCost from './migrations/006_write_cost';
import * as exceptionsKeys from './migrations/007_exceptions_keys';
import * as anchoredLog from './migrations/009_anchored_log';
import * as leanStatePath from './migrations/010_lean_state_path';
import * as ruleVersions from './migrations/011_rule_versions';
import * as merges from './migrations/013_merges';
import * as applyIntents from './migrations/014_apply_intents';
import * as leanJournal from './migrations/015_lean_journal';

type Migration = { up(knex: Knex, schema: string): Promise<void> };
const MIGRATIONS: Array<[string, Migration]> = [
  ['001_initial', initial],
  ['002_review_journal', reviewJournal],
  ['003_outbox_claim_index', outboxClaimIndex],
  ['004_outbox_statistics', outboxStatistics],
  ['005_dead_letter_resolution', deadLetterResolution],
  ['006_write_cost', writeCost],
  ['007_exceptions_keys', exceptionsKeys],
  ['009_anchored_log', anchoredLog],
  ['010_lean_state_path', leanStatePath],
  ['011_rule_versions', ruleVersions],
  ['013_merges', merges],
  ['014_apply_intents', applyIntents],
  ['015_lean_journal', leanJournal],
];

/** Where knex's own warnings go (a lost pooled connection); by default they are printed by knex. */
export interface StoreLog {
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export function connectStateStore(url: string, poolSize = 10, log?: StoreLog): Knex {
  const knexLog = log && {
    warn: (message: string) => log.warn('state store connection warning', { dependency: 'state-store', message: String(message) }),
    error: (message: string) => log.warn('state store connection error', { dependency: 'state-store', message: String(message) }),
    deprecate: () => {},
    debug: () => {},
  };
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: poolSize }, ...(knexLog ? { log: knexLog } : {}) });
}

/** Brings the state store's schema up to date. Safe to run from several instances at once. */
export async function migrateStateStore(knex: Knex, schema: string): Promise<void> {
  try {
    await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
    await knex.migrate.latest({
      schemaName: schema,
      tableName: 'migrations',
      migrationSource: {
        getMigrations: async () => MIGRATIONS.map(([name]) => name),
        getMigrationName: (name: string) => name,
        getMigration: async (name: string) => {
          const migration = MIGRATIONS.find(([n]) => n === name)![1];
          return { up: (k: Knex) => migration.up(k, schema), down: async () => {} };
        },
      },
    });
  } catch (error) {
    throw new StateStoreError(`cannot migrate the state store schema ${schema}: ${(error as Error).message}`, {}, { cause: error });
  }
}
