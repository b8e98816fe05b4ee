-- docker/compose.debezium.yaml: the CRM in MariaDB 10.11, database `crm`
-- (created by the image from MARIADB_DATABASE, with the user `tandem` and the
-- password of the db_password secret; no password is written here).
-- Columns as in the demo's CRM accounts (src/demo/schema.ts), in MariaDB types.

-- Debezium's MariaDB connector reads the binlog as a replica (the grants
-- the tests give their connector user: test/kafka/mariadb-to-pg.kafka.test.ts).
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO 'tandem'@'%';
FLUSH PRIVILEGES;

USE crm;

CREATE TABLE accounts (
  id             char(36) NOT NULL PRIMARY KEY,
  account_name   varchar(200) NOT NULL,
  email          varchar(200),
  phone          varchar(50),
  credit_limit   decimal(14,2),
  on_credit_hold boolean NOT NULL DEFAULT false,
  industry       varchar(100),
  owner_rep      varchar(100)
) CHARACTER SET utf8mb4;
