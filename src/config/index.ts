export { configSpec, mappingSpec, entitySpec, converterSpec, secretRef } from './spec';
export type { PostgresCaptureConfig, MysqlCaptureConfig, SqlserverCaptureConfig, DebeziumCaptureConfig, KafkaConfig, AuditConfig } from './spec';
export type { TandemConfig, SystemConfig, MappingSpec, EntitySpec, FieldRuleSpec, ConverterSpec, SecretRef } from './spec';
export { loadConfig, parseConfig, parseConfigSource, readSecret, readAllSecrets, formatPath, configDir } from './load';
export type { LoadedConfig, ConfigSource } from './load';
export { checkConsistency } from './consistency';
export type { Problem } from './consistency';
export { envSettings, envVariableName } from './env';
export { qualified } from './consistency';
