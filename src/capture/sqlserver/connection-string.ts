/**
 * SQL Server connection strings → a driver config object, shared by the
 * capture source (mssql) and the SQL target (knex's `mssql` client, which
 * drives tedious itself and takes no connection string). Two forms:
 * `mssql://user:password@host:port/database?encrypt=true&trustServerCertificate=true`
 * (also `sqlserver://`), and ADO style
 * `Server=host,port;Database=db;User Id=user;Password=pw;Encrypt=true;TrustServerCertificate=true`.
 */
export interface SqlServerConnectionConfig {
  server: string;
  port: number;
  user: string;
  password: string;
  database: string;
  encrypt: boolean;
  trustServerCertificate: boolean;
}

const truthy = (v: string | undefined | null): boolean => v !== undefined && v !== null && /^(true|yes|1)$/i.test(v.trim());

export function parseSqlServerConnectionString(text: string): SqlServerConnectionConfig {
  if (/^(mssql|sqlserver):\/\//i.test(text)) {
    const url = new URL(text.replace(/^[a-z]+:/i, 'http:'));
    const q = url.searchParams;
    return {
      server: decodeURIComponent(url.hostname),
      port: url.port ? Number(url.port) : 1433,
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'master',
      encrypt: truthy(q.get('encrypt')),
      trustServerCertificate: q.has('trustServerCertificate') ? truthy(q.get('trustServerCertificate')) : true,
    };
  }
  const parts = new Map<string, string>();
  for (const piece of text.split(';')) {
    const eq = piece.indexOf('=');
    if (eq > 0) parts.set(piece.slice(0, eq).trim().toLowerCase().replace(/\s+/g, ' '), piece.slice(eq + 1).trim());
  }
  const serverText = (parts.get('server') ?? parts.get('data source') ?? 'localhost').replace(/^tcp:/i, '');
  const [server, port] = serverText.split(',');
  return {
    server: server ?? 'localhost',
    port: port ? Number(port) : 1433,
    user: parts.get('user id') ?? parts.get('uid') ?? parts.get('user') ?? '',
    password: parts.get('password') ?? parts.get('pwd') ?? '',
    database: parts.get('database') ?? parts.get('initial catalog') ?? 'master',
    encrypt: truthy(parts.get('encrypt')),
    trustServerCertificate: parts.has('trustservercertificate') ? truthy(parts.get('trustservercertificate')) : true,
  };
}

/** The config object `new mssql.ConnectionPool(…)` takes. */
export function mssqlPoolConfig(text: string): Record<string, unknown> {
  const c = parseSqlServerConnectionString(text);
  return {
    server: c.server, port: c.port, user: c.user, password: c.password, database: c.database,
    options: { encrypt: c.encrypt, trustServerCertificate: c.trustServerCertificate, useUTC: true },
  };
}
