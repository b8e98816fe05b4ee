import { z } from 'zod';

/** Capture through Debezium connectors that publish to Kafka (see the top-level `kafka` section). */
export const debeziumCapture = z
  .object({
    /** The connector's `topic.prefix`: change topics are `<prefix>.<schema>.<table>` (or `<prefix>.<db>.<table>`). */
    topicPrefix: z.string().min(1),
    /** Debezium's connector (`postgresql`, `mysql`, `mariadb`, `sqlserver`): one of those the system type's connector lists. */
    connector: z.string().min(1),
    /** Topics to read; default: one per mapped table, named from the prefix. */
    topics: z.array(z.string().min(1)).optional(),
    /** Or a regular expression of topics to subscribe to. */
    topicPattern: z.string().min(1).optional(),
    /** Debezium's heartbeat topic prefix (`heartbeat.interval.ms` on the connector). */
    heartbeatTopicPrefix: z.string().default('__debezium-heartbeat'),
    /** What a message that cannot be decoded does: park it in the dead-letter store and go on. */
    maxBatchEvents: z.number().int().min(1).default(2_000),
  })
  .strict();
export type DebeziumCaptureConfig = z.infer<typeof debeziumCapture>;
