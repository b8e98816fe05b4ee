-- docker/compose.debezium.yaml: the warehouse system (wms) in SQL Server 2022,
-- run once by the mssql-init service (sqlcmd). CDC needs SQL Server Agent
-- (MSSQL_AGENT_ENABLED=true on the server): sp_cdc_enable_table creates the
-- capture and cleanup jobs the Agent runs. Safe to run again.
IF DB_ID('wms') IS NULL CREATE DATABASE wms;
GO
USE wms;
GO
IF NOT EXISTS (SELECT 1 FROM sys.databases WHERE name = 'wms' AND is_cdc_enabled = 1)
  EXEC sys.sp_cdc_enable_db;
GO
IF OBJECT_ID('dbo.items', 'U') IS NULL
  CREATE TABLE dbo.items (
    item_no     varchar(40)   NOT NULL PRIMARY KEY,
    description nvarchar(200) NOT NULL,
    list_price  decimal(12,4) NOT NULL,
    bin         varchar(20)   NULL
  );
GO
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE capture_instance = 'dbo_items')
  EXEC sys.sp_cdc_enable_table @source_schema = 'dbo', @source_name = 'items', @role_name = NULL, @supports_net_changes = 0;
GO
