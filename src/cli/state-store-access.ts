import type { Knex } from 'knex';
import { loadConfig, readSecret, type LoadedConfig } from '../config';
import { connectStateStore } from '../store';

export interface StateStoreAccess {
  knex: Knex;
  schema: string;
  loaded: LoadedConfig;
}

/** Loads the configuration, connects to its state store, runs `body`, disconnects. */
export async function withStateStore<T>(configFile: string, body: (access: StateStoreAccess) => Promise<T>): Promise<T> {
  const loaded = loadConfig(configFile);
  const knex = connectStateStore(readSecret(loaded.config.stateStore.url, 'stateStore.url'), 2);
  try {
    return await body({ knex, schema: loaded.config.stateStore.schema, loaded });
  } finally {
    await knex.destroy();
  }
}
