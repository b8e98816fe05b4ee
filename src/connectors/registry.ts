/**
 * The one map from a system's `type` to its connector. A new system type is
 * its own folder under src/connectors plus one line here.
 */
import { ConfigError } from '../errors';
import { mysql } from './mysql';
import { postgres } from './postgres';
import { rest } from './rest';
import { sqlserver } from './sqlserver';
import type { Connector } from './types';

const CONNECTORS: Readonly<Record<string, Connector>> = {
  postgres,
  mysql,
  sqlserver,
  rest,
};

/** Every `type` a system may have. */
export function systemTypes(): string[] {
  return Object.keys(CONNECTORS);
}

export function isSystemType(type: string): boolean {
  return Object.hasOwn(CONNECTORS, type);
}

/** The connector of a system type; a type no connector has is a configuration error. */
export function connectorFor(type: string): Connector {
  if (!isSystemType(type)) throw new ConfigError(`unknown system type "${type}" (types: ${systemTypes().join(', ')})`, { path: 'type' });
  return CONNECTORS[type]!;
}

/** The connector of a configured system. */
export function connectorOf(spec: { type: string }): Connector {
  return connectorFor(spec.type);
}

/** Every Debezium connector name some system type can be captured with. */
export function debeziumConnectorNames(): string[] {
  return Object.values(CONNECTORS).flatMap((c) => c.debezium?.connectors ?? []);
}
