export { createKafkaSource } from './source';
export { kafkaClientConfig } from './options';
export type { KafkaSourceOptions, KafkaConnection } from './options';
export { defaultTopics, parseKafkaPosition, topicsToRead } from './topics';
