-- docker/compose.debezium.yaml: runs after 10-erp.sql (the demo's ERP schema).
-- Debezium's PostgreSQL connector then publishes whole before-images of
-- updates and deletes (as test/kafka/debezium-postgres.kafka.test.ts sets up).
ALTER TABLE customers REPLICA IDENTITY FULL;
ALTER TABLE items REPLICA IDENTITY FULL;
