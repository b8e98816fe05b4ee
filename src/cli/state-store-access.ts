import type { Knex } from 'knex';
import { loadConfig, type LoadedConfig } from '../config';
import { connectStateStore } from '../store';
import { isUnreachable } from '../errors';
import { endpoint, reach } from './reach';

export interface StateStoreAccess {
  knex: Knex;
  schema: string;
  loaded: LoadedConfig;
}

/** Loads the configuration, connects to its state store, runs `body`, disconnects. */
export async function withStateStore<T>(configFile: string, body: (access: StateStoreAccess) => Promise<T>): Promise<T> {
  const loaded = loadConfig(configFile);
  const store = endpoint('state store', 'stateStore.url', loaded.config.stateStore.url);
  const knex = connectStateStore(store.url, 2);
  try {
    return await body({ knex, schema: loaded.config.stateStore.schema, loaded });
  } catch (error) {
    // A server that cannot be reached: when it is the state store, name it and the setting that points at it
    // (the body may also talk to other systems, so the store is asked before it is blamed).
    if (isUnreachable(error)) await reach(store, () => knex.raw('select 1'));
    throw error;
  } finally {
    await knex.destroy();
  }
}
