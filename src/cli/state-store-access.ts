import type { Knex } from 'knex';
import { loadConfig, type LoadedConfig } from '../config';
import { connectStateStore } from '../store';
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
    // A first query, so a store that cannot be reached is named as such, with the setting that points at it.
    await reach(store, () => knex.raw('select 1'));
    return await body({ knex, schema: loaded.config.stateStore.schema, loaded });
  } finally {
    await knex.destroy();
  }
}
