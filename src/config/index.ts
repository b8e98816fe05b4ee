export { configSpec, mappingSpec, entitySpec, converterSpec, secretRef } from './spec';
export type { TandemConfig, SystemConfig, MappingSpec, EntitySpec, FieldRuleSpec, ConverterSpec, SecretRef } from './spec';
export { loadConfig, parseConfig, readSecret, formatPath, configDir } from './load';
export type { LoadedConfig } from './load';
export { envSettings, envVariableName } from './env';
export { qualified } from './consistency';
