/**
 * Debezium's `source` block (PostgreSQL, MySQL/MariaDB, SQL Server
 * connectors, old and new layouts) → tandem's `SourceInfo`.
 */
import type { SnapshotMarker, SourceInfo } from '../change-event';
import { isJsonObject, JsonNumber, type Json, type JsonObject } from './lossless-json';
import { mysqlPosition, postgresPosition, sqlServerPosition } from './position';
import { describe, ValueError } from './values';

const MARKERS: ReadonlySet<string> = new Set(['true', 'first', 'first_in_data_collection', 'last_in_data_collection', 'last', 'false', 'incremental']);

/** String enum in current Debezium; boolean (or null) in old versions. */
export function snapshotMarker(raw: Json | undefined): SnapshotMarker {
  if (raw === undefined || raw === null || raw === false) return 'false';
  if (raw === true) return 'true';
  if (typeof raw === 'string' && MARKERS.has(raw)) return raw as SnapshotMarker;
  throw new ValueError(`unknown source.snapshot value: ${describe(raw)}`);
}

/** The source layouts Debezium's messages come in (MariaDB's is MySQL's). */
export type DebeziumSourceLayout = 'postgresql' | 'mysql' | 'sqlserver';

export function connectorOf(source: JsonObject): DebeziumSourceLayout {
  const named = source.connector;
  if (named === 'postgresql' || named === 'mysql' || named === 'sqlserver') return named;
  // MariaDB's connector has MySQL's source layout and positions.
  if (named === 'mariadb') return 'mysql';
  if (named !== undefined && named !== null) throw new ValueError(`unsupported connector: ${describe(named)}`);
  // Old MySQL events (the tutorial's) have no `connector`: recognise the layout.
  if ('lsn' in source) return 'postgresql';
  if ('commit_lsn' in source || 'change_lsn' in source) return 'sqlserver';
  if ('file' in source || 'server_id' in source) return 'mysql';
  throw new ValueError('source block names no connector and has no known position fields');
}

/** An integer field as bigint; null when absent or null. */
export function int(source: JsonObject, key: string): bigint | null {
  const raw = source[key];
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'number' && Number.isInteger(raw)) return BigInt(raw);
  // SeaTunnel prints Long.MIN_VALUE through a double: `-9223372036854776000`.
  if (raw instanceof JsonNumber && /^-?\d+$/.test(raw.text)) return BigInt(raw.text);
  throw new ValueError(`source.${key} is not an integer: ${describe(raw)}`);
}

/** int(), but a safe integer stays a number (-0 made 0, as through BigInt): no bigint for the common case. */
function intValue(source: JsonObject, key: string): number | bigint | null {
  const raw = source[key];
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return raw === 0 ? 0 : raw;
  return int(source, key);
}

export function str(source: JsonObject, key: string): string | null {
  const raw = source[key];
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw new ValueError(`source.${key} is not a string: ${describe(raw)}`);
  return raw;
}

export interface SourceOptions {
  system?: string;
  /** `transaction.id` of the envelope, when the connector sent a transaction block. */
  transactionId?: string | null;
}

export function readSource(raw: Json | undefined, options: SourceOptions): SourceInfo {
  if (!isJsonObject(raw)) throw new ValueError('event has no source block');
  const connector = connectorOf(raw);
  const tsMs = intValue(raw, 'ts_ms') ?? (int(raw, 'ts_sec') ?? 0n) * 1000n;
  let position: string;
  let txId: string | null;
  switch (connector) {
    case 'postgresql':
      position = postgresPosition(intValue(raw, 'lsn'), str(raw, 'sequence'));
      txId = intValue(raw, 'txId')?.toString() ?? options.transactionId ?? null;
      break;
    case 'mysql':
      position = mysqlPosition(str(raw, 'file'), int(raw, 'pos') ?? 0n, int(raw, 'row') ?? 0n, str(raw, 'gtid'));
      txId = options.transactionId ?? str(raw, 'gtid');
      break;
    case 'sqlserver': {
      const commitLsn = str(raw, 'commit_lsn');
      const serial = raw.event_serial_no;
      const serialNo = typeof serial === 'string' && /^\d+$/.test(serial) ? BigInt(serial) : int(raw, 'event_serial_no');
      position = sqlServerPosition(commitLsn, str(raw, 'change_lsn'), serialNo);
      // Debezium's SQL Server transaction id is the commit LSN.
      txId = options.transactionId ?? commitLsn;
      break;
    }
  }
  return {
    system: options.system ?? str(raw, 'name') ?? 'debezium',
    connector,
    database: str(raw, 'db') ?? '',
    schema: str(raw, 'schema'),
    table: str(raw, 'table') ?? '',
    position,
    txId,
    commitTimeMs: Number(tsMs),
    ...commitTimePrecision(connector, tsMs),
    snapshot: snapshotMarker(raw.snapshot),
    origin: null,
  };
}

/**
 * MySQL/MariaDB connectors take `ts_ms` from the binlog event header: whole
 * seconds. A value with milliseconds came from a finer clock (a snapshot's
 * read time), so only whole seconds are taken to be a second coarse.
 */
function commitTimePrecision(connector: SourceInfo['connector'], tsMs: bigint | number): Pick<SourceInfo, 'commitTimePrecisionMs'> {
  if (connector !== 'mysql') return {};
  return (typeof tsMs === 'bigint' ? tsMs % 1000n === 0n : tsMs % 1000 === 0) ? { commitTimePrecisionMs: 1000 } : {};
}
