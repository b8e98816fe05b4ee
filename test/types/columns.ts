/**
 * The type round-trip matrix: for each source kind (PostgreSQL, MariaDB) one
 * wide table holding every column type its connectors carry, the type of the
 * same column in a target of the other kind (the documented conversion, see
 * the README's "Types and exact values"), and the SQL that turns a column into
 * comparable text on each side. Values are SQL literals of the source kind.
 *
 * Comparison happens in the target database: the source's text of each value
 * is copied into the target (a staging table) and compared there, in SQL, with
 * the target column's text (or by a typed comparison where the two systems
 * print a value differently, e.g. floats, JSON).
 */

export type Kind = 'pg' | 'my';

/** SQL for a column (given its qualified name) on one side. */
type Expr = (c: string) => string;
/** SQL boolean: does staged text `e` match target column `c`. */
type Eq = (e: string, c: string) => string;

export interface MatrixColumn {
  name: string;
  pg: string;
  my: string;
  /** Canonical text of the column in PostgreSQL (default `c::text`). */
  pgText?: Expr;
  /** Canonical text of the column in MariaDB (default `CAST(c AS CHAR)`). */
  myText?: Expr;
  /** Same-kind comparison when text equality is not the right one (json). */
  pgEq?: Eq;
  myEq?: Eq;
  /** Source → other kind: source text, target text and comparison, when they differ from the defaults. */
  cross?: { src?: Expr; dst?: Expr; eq?: Eq };
}

/** A row of literals (column → SQL literal of the source kind; absent columns are NULL). */
export type Literals = Record<string, string>;

export interface MatrixRow {
  id: number;
  values: Literals;
  /**
   * A value the other kind cannot hold. 'rejected': a target of the other kind
   * refuses the row (it is dead-lettered, never written altered);
   * otherwise the documented conversion: column → text the target holds.
   */
  crossKind?: 'rejected' | Record<string, string | null>;
  /** A documented conversion on one path (e.g. through Debezium): target kind → column → text the target holds, or 'rejected'. */
  expect?: Partial<Record<Kind, 'rejected' | Record<string, string | null>>>;
  /** What differs for the row's copy read by the initial snapshot (same fields). */
  snapshot?: Pick<MatrixRow, 'crossKind' | 'expect'>;
}

export interface Matrix {
  source: Kind;
  columns: MatrixColumn[];
  /** Inserted in one statement. */
  rows: MatrixRow[];
  /** Rows inserted then updated (id → literals before, after) in one transaction. */
  updates: { id: number; before: Literals; after: Literals }[];
  /** Extra DDL each PostgreSQL database needs before the table (enum types). */
  pgPrelude: string;
}

export const pgDefaultText: Expr = (c) => `${c}::text`;
export const myDefaultText: Expr = (c) => `CAST(${c} AS CHAR)`;

// ----------------------------------------------------------------- shared SQL

const pgTimeText: Expr = (c) => `to_char(${c}, 'HH24:MI:SS.US')`;
const myTimeText: Expr = (c) => `TIME_FORMAT(${c}, '%H:%i:%s.%f')`;
const pgStamp = (c: string) => `CASE WHEN isfinite(${c}) THEN to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US') ELSE ${c}::text END`;
const pgStampUtc = (c: string) => `CASE WHEN isfinite(${c}) THEN to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') ELSE ${c}::text END`;
const myStamp: Expr = (c) => `DATE_FORMAT(${c}, '%Y-%m-%d %H:%i:%s.%f')`;
const pgHex: Expr = (c) => `encode(${c}, 'hex')`;
const myHex: Expr = (c) => `LOWER(HEX(${c}))`;
const myBits = (n: number): Expr => (c) => `LPAD(BIN(${c}), ${n}, '0')`;
const myBool: Expr = (c) => `CASE WHEN ${c} IS NULL THEN NULL WHEN ${c} THEN 'true' ELSE 'false' END`;
/** Decimal text without trailing fraction zeros (MariaDB prints the declared scale; unconstrained numeric does not). */
const myTrimmedDecimal: Expr = (c) =>
  `CASE WHEN LOCATE('.', CAST(${c} AS CHAR)) = 0 THEN CAST(${c} AS CHAR) ELSE TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(${c} AS CHAR))) END`;
/** Floats compared as the double each side parses the other's text into (the two print exponents differently). */
const pgFloatEq: Eq = (e, c) => `${e}::float8 IS NOT DISTINCT FROM ${c}::float8`;
const myFloatEq: Eq = (e, c) => `CAST(${e} AS DOUBLE) <=> CAST(${c} AS DOUBLE)`;
const pgJsonEq: Eq = (e, c) => `${e}::jsonb IS NOT DISTINCT FROM ${c}::jsonb`;
const myJsonEq: Eq = (e, c) => `(${e} IS NULL AND ${c} IS NULL) OR JSON_EQUALS(${e}, ${c}) = 1`;
/** A PostgreSQL interval of hours (MariaDB TIME's counterpart) as MariaDB prints a TIME. */
const pgIntervalAsTime: Expr = (c) =>
  `CASE WHEN ${c} < interval '0' THEN '-' || to_char(-${c}, 'HH24:MI:SS.US') ELSE to_char(${c}, 'HH24:MI:SS.US') END`;
const pgBoolAsTinyint: Expr = (c) => `CASE WHEN ${c} IS NULL THEN NULL WHEN ${c} THEN '1' ELSE '0' END`;

const BIG_JSON = `{"big": 12345678901234567890123, "precise": 0.1000000000000000055511151231257827, "neg": -9007199254740993, "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": [1, [2, [3, [4, [5]]]]]}}}}}}}, "s": "Grüße \\u0001 ✓", "e": 1.5e300}`;
const ALL_BYTES = `'\\x${Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).join('')}'`;
const UNICODE = `'Grüße, 東京 ✓ 🚀 — tab\there, bell' || chr(7) || ', del' || chr(127) || ' ''q'' "dq" \\ end'`;

// ------------------------------------------------------------ PostgreSQL source

export const PG_MATRIX: Matrix = {
  source: 'pg',
  pgPrelude: `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');`,
  columns: [
    { name: 'i2', pg: 'smallint', my: 'SMALLINT' },
    { name: 'i4', pg: 'integer', my: 'INT' },
    { name: 'i8', pg: 'bigint', my: 'BIGINT' },
    { name: 'd38', pg: 'numeric(38,10)', my: 'DECIMAL(38,10)' },
    { name: 'd65', pg: 'numeric(65,30)', my: 'DECIMAL(65,30)' },
    { name: 'num', pg: 'numeric', my: 'DECIMAL(65,30)', cross: { src: (c) => `trim_scale(${c})::text`, dst: myTrimmedDecimal } },
    { name: 'mon', pg: 'money', my: 'DECIMAL(19,2)', pgText: (c) => `${c}::numeric::text` },
    { name: 'f4', pg: 'real', my: 'FLOAT', cross: { src: (c) => `${c}::float8::text`, eq: myFloatEq } },
    { name: 'f8', pg: 'double precision', my: 'DOUBLE', cross: { eq: myFloatEq } },
    { name: 'b', pg: 'boolean', my: 'BOOLEAN', myText: myBool },
    { name: 'ch', pg: 'char(8)', my: 'CHAR(8)' },
    { name: 'vc', pg: 'varchar(200)', my: 'VARCHAR(200)' },
    { name: 'tx', pg: 'text', my: 'LONGTEXT' },
    { name: 'd', pg: 'date', my: 'DATE' },
    { name: 't', pg: 'time(6)', my: 'TIME(6)', pgText: pgTimeText, myText: myTimeText },
    { name: 'tz', pg: 'timetz', my: 'VARCHAR(40)' },
    { name: 'ts', pg: 'timestamp(6)', my: 'DATETIME(6)', pgText: pgStamp, myText: myStamp },
    { name: 'tstz', pg: 'timestamptz', my: 'DATETIME(6)', pgText: pgStampUtc, myText: myStamp },
    { name: 'iv', pg: 'interval', my: 'VARCHAR(64)' },
    { name: 'js', pg: 'json', my: 'JSON', pgText: (c) => `${c}::jsonb::text`, pgEq: pgJsonEq, cross: { eq: myJsonEq } },
    { name: 'jb', pg: 'jsonb', my: 'JSON', pgEq: pgJsonEq, cross: { eq: myJsonEq } },
    { name: 'u', pg: 'uuid', my: 'CHAR(36)' },
    { name: 'by', pg: 'bytea', my: 'LONGBLOB', pgText: pgHex, myText: myHex },
    { name: 'b1', pg: 'bit(1)', my: 'BIT(1)', myText: myBits(1) },
    { name: 'b8', pg: 'bit(8)', my: 'BIT(8)', myText: myBits(8) },
    { name: 'b64', pg: 'bit(64)', my: 'BIT(64)', myText: myBits(64) },
    { name: 'vb', pg: 'varbit(20)', my: 'VARCHAR(20)' },
    { name: 'en', pg: 'mood', my: "ENUM('sad','ok','happy')" },
    { name: 'ta', pg: 'text[]', my: 'JSON', cross: { src: (c) => `to_jsonb(${c})::text`, eq: myJsonEq } },
    { name: 'ia', pg: 'integer[]', my: 'JSON', cross: { src: (c) => `to_jsonb(${c})::text`, eq: myJsonEq } },
    { name: 'ip', pg: 'inet', my: 'VARCHAR(43)' },
  ],
  rows: [
    {
      id: 1,
      values: {
        i2: '32767', i4: '2147483647', i8: '9223372036854775807', d38: '9999999999999999999999999999.9999999999',
        d65: '99999999999999999999999999999999999.999999999999999999999999999999', num: '123456789012345678901234567890.123456789',
        mon: '92233720368547758.07', f4: '3.4028235e38', f8: '1.7976931348623157e308', b: 'true', ch: `'ab  cd'`, vc: UNICODE,
        tx: `repeat('0123456789abcdef', 2000)`, d: `'9999-12-31'`, t: `'23:59:59.999999'`, tz: `'23:59:59.999999+14:00'`,
        ts: `'9999-12-31 23:59:59.999999'`, tstz: `'9999-12-31 23:59:59.999999+00'`, iv: `'1 year 2 months 3 days 04:05:06.000001'`,
        js: `'${BIG_JSON}'`, jb: `'${BIG_JSON}'`, u: `'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`, by: ALL_BYTES,
        b1: `B'1'`, b8: `B'10000001'`, b64: `B'${'1'.repeat(64)}'`, vb: `B'10100000111'`, en: `'happy'`,
        ta: `ARRAY['a', NULL, 'NULL', '', 'with,comma', 'quote"d', 'ü ✓']`, ia: `ARRAY[1, NULL, -2147483648, 2147483647]`, ip: `'2001:db8::1/64'`,
      },
    },
    {
      id: 2,
      values: {
        i2: '-32768', i4: '-2147483648', i8: '-9223372036854775808', d38: '-9999999999999999999999999999.9999999999',
        d65: '-0.000000000000000000000000000001', num: '-0.000000000000000000000000000001', mon: '-92233720368547758.08',
        f4: '1.17549435e-38', f8: '-2.2250738585072014e-308', b: 'false', ch: `'x'`, vc: `''`, tx: `e'line1\\nline2\\r\\n'`,
        d: `'0001-01-01'`, t: `'00:00:00'`, tz: `'00:00:00-12:00'`, ts: `'0001-01-01 00:00:00'`, tstz: `'1969-07-20 20:17:40.000001+00'`,
        iv: `'-1 days -00:00:00.000001'`, js: `'[]'`, jb: `'{"a": null, "nested": [[], {}], "n": -0.5}'`,
        u: `'00000000-0000-0000-0000-000000000000'`, by: `'\\x'`, b1: `B'0'`, b8: `B'00000000'`, b64: `B'1${'0'.repeat(63)}'`, vb: `B''`,
        en: `'sad'`, ta: `'{}'`, ia: `ARRAY[NULL]::integer[]`, ip: `'10.0.0.1'`,
      },
    },
    {
      id: 3,
      values: {
        i2: '0', i4: '0', i8: '9007199254740993', d38: '0.0000000001', d65: '0.000000000000000000000000000000', num: '0', mon: '0.01',
        f4: '0.1', f8: '0.1', b: 'true', ch: `'ü'`, vc: `'  padded  '`, tx: `''`, d: `'2024-02-29'`, t: `'24:00:00'`,
        tz: `'12:34:56.789+05:30'`, ts: `'1970-01-01 00:00:00.000001'`, tstz: `'2024-02-29 12:34:56.789012+05:30'`,
        iv: `'3 days 00:00:01'`, js: `'"a string"'`, jb: `'12345678901234567890123'`, u: `'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'`,
        by: `'\\x00'`, b1: `B'1'`, b8: `B'01010101'`, b64: `B'${'0'.repeat(64)}'`, vb: `B'1'`, en: `'ok'`,
        ta: `ARRAY['NULL']`, ia: `'{}'`, ip: `'::1'`,
      },
    },
    { id: 4, values: {} },
    // Values no MariaDB column can hold: a MariaDB target refuses the row (dead letter), never writes it altered.
    { id: 20, values: { ts: `'infinity'` }, crossKind: 'rejected' },
    { id: 21, values: { tstz: `'-infinity'` }, crossKind: 'rejected' },
    { id: 22, values: { d: `'infinity'` }, crossKind: 'rejected' },
    { id: 23, values: { f8: `'NaN'` }, crossKind: 'rejected' },
    { id: 24, values: { f8: `'Infinity'` }, crossKind: 'rejected' },
    { id: 25, values: { f4: `'-Infinity'` }, crossKind: 'rejected' },
    { id: 26, values: { num: `'NaN'` }, crossKind: 'rejected' },
    { id: 27, values: { num: `'1e-40'` }, crossKind: 'rejected' },
    { id: 28, values: { d: `'0044-03-15 BC'` }, crossKind: 'rejected' },
    // MariaDB has no negative zero: documented conversion to 0.
    { id: 29, values: { f8: `'-0'`, f4: `'-0'` }, crossKind: { f8: '0', f4: '0' } },
    { id: 30, values: { iv: `'P-1Y-2M'`, tz: `'24:00:00+00'` } },
  ],
  updates: [
    { id: 10, before: {}, after: { i8: '-1', d65: '1.5', by: `'\\xdeadbeef'`, b8: `B'11110000'`, iv: `'-24:00:00.000001'`, jb: `'{"x": 98765432109876543210}'`, f8: '-1e-300', ts: `'2000-01-01 00:00:00.5'`, ta: `ARRAY['NULL', NULL]`, vb: `B'0'` } },
    { id: 11, before: { vc: `'before'`, by: `'\\x00ff'`, b64: `B'${'01'.repeat(32)}'` }, after: { vc: `'after ✓'`, by: `'\\xff00'`, b64: `B'${'10'.repeat(32)}'`, iv: `'0'`, t: `'12:00:00.000001'` } },
  ],
};

// --------------------------------------------------------------- MariaDB source

export const MY_MATRIX: Matrix = {
  source: 'my',
  pgPrelude: `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');`,
  columns: [
    { name: 'ti', my: 'TINYINT', pg: 'smallint' },
    { name: 'tu', my: 'TINYINT UNSIGNED', pg: 'smallint' },
    { name: 'si', my: 'SMALLINT', pg: 'smallint' },
    { name: 'mi', my: 'MEDIUMINT', pg: 'integer' },
    { name: 'iu', my: 'INT UNSIGNED', pg: 'bigint' },
    { name: 'bi', my: 'BIGINT', pg: 'bigint' },
    { name: 'bu', my: 'BIGINT UNSIGNED', pg: 'numeric(20,0)' },
    { name: 'd38', my: 'DECIMAL(38,10)', pg: 'numeric(38,10)' },
    { name: 'd65', my: 'DECIMAL(65,30)', pg: 'numeric(65,30)' },
    // MariaDB prints a double differently depending on the query (DBL_MAX as …57e308 or …55e308): compared as doubles.
    { name: 'f', my: 'FLOAT', pg: 'real', myEq: myFloatEq, cross: { src: (c) => `CAST(CAST(${c} AS DOUBLE) AS CHAR)`, eq: pgFloatEq } },
    { name: 'db', my: 'DOUBLE', pg: 'double precision', myEq: myFloatEq, cross: { eq: pgFloatEq } },
    { name: 'bo', my: 'BOOLEAN', pg: 'boolean', pgText: pgBoolAsTinyint },
    { name: 'ch', my: 'CHAR(8)', pg: 'char(8)' },
    { name: 'vc', my: 'VARCHAR(200)', pg: 'varchar(200)' },
    { name: 'tx', my: 'MEDIUMTEXT', pg: 'text' },
    { name: 'd', my: 'DATE', pg: 'date' },
    { name: 'dt', my: 'DATETIME(6)', pg: 'timestamp(6)', myText: myStamp, pgText: pgStamp },
    { name: 'ts', my: 'TIMESTAMP(6) NULL', pg: 'timestamptz', myText: myStamp, pgText: pgStampUtc },
    { name: 'tm', my: 'TIME(6)', pg: 'interval', myText: myTimeText, pgText: pgIntervalAsTime },
    { name: 'yr', my: 'YEAR', pg: 'smallint' },
    { name: 'js', my: 'JSON', pg: 'jsonb', myEq: myJsonEq, cross: { eq: pgJsonEq } },
    { name: 'bl', my: 'BLOB', pg: 'bytea', myText: myHex, pgText: pgHex },
    { name: 'vbn', my: 'VARBINARY(16)', pg: 'bytea', myText: myHex, pgText: pgHex },
    { name: 'bn', my: 'BINARY(4)', pg: 'bytea', myText: myHex, pgText: pgHex },
    { name: 'b1', my: 'BIT(1)', pg: 'bit(1)', myText: myBits(1) },
    { name: 'b12', my: 'BIT(12)', pg: 'bit(12)', myText: myBits(12) },
    { name: 'b64', my: 'BIT(64)', pg: 'bit(64)', myText: myBits(64) },
    { name: 'en', my: "ENUM('sad','ok','happy')", pg: 'mood' },
    { name: 'st', my: "SET('a','b','c')", pg: 'text' },
  ],
  rows: [
    {
      id: 1,
      values: {
        ti: '127', tu: '255', si: '32767', mi: '8388607', iu: '4294967295', bi: '9223372036854775807', bu: '18446744073709551615',
        d38: '9999999999999999999999999999.9999999999', d65: '99999999999999999999999999999999999.999999999999999999999999999999',
        f: '3.40282e38', db: '1.7976931348623157e308', bo: 'TRUE', ch: `'ab  cd'`,
        vc: `CONCAT('Grüße, 東京 ✓ 🚀 — tab\\there, bell', CHAR(7), ', del', CHAR(127), ' ''q'' "dq" \\\\ end')`,
        tx: `REPEAT('0123456789abcdef', 2000)`, d: `'9999-12-31'`, dt: `'9999-12-31 23:59:59.999999'`, ts: `'2038-01-19 03:14:07.999999'`,
        tm: `'838:59:59'`, yr: '2155', js: `'${BIG_JSON}'`, bl: `UNHEX('${Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).join('')}')`,
        vbn: `UNHEX('00FF10DEADBEEF')`, bn: `UNHEX('00000001')`, b1: `b'1'`, b12: `b'100000000001'`, b64: `b'${'1'.repeat(64)}'`,
        en: `'happy'`, st: `'a,c'`,
      },
    },
    {
      id: 2,
      values: {
        ti: '-128', tu: '0', si: '-32768', mi: '-8388608', iu: '0', bi: '-9223372036854775808', bu: '0',
        d38: '-9999999999999999999999999999.9999999999', d65: '-0.000000000000000000000000000001',
        f: '-1.17549e-38', db: '-2.2250738585072014e-308', bo: 'FALSE', ch: `'x'`, vc: `''`, tx: `'line1\\nline2\\r\\n'`,
        d: `'1000-01-01'`, dt: `'1000-01-01 00:00:00'`, ts: `'1970-01-01 00:00:01'`, tm: `'-838:59:59'`, yr: '1901',
        js: `'[]'`, bl: `''`, vbn: `''`, bn: `UNHEX('00')`, b1: `b'0'`, b12: `b'000000000000'`, b64: `b'1${'0'.repeat(63)}'`,
        en: `'sad'`, st: `''`,
      },
    },
    {
      id: 3,
      values: {
        ti: '0', tu: '1', si: '0', mi: '0', iu: '1', bi: '9007199254740993', bu: '9223372036854775808',
        d38: '0.0000000001', d65: '0', f: '0.1', db: '0.1', bo: '1', ch: `'ü'`, vc: `'  padded  '`, tx: `''`,
        d: `'2024-02-29'`, dt: `'2024-02-29 12:34:56.789012'`, ts: `'2024-02-29 07:04:56.789012'`, tm: `'-00:00:00.000001'`, yr: '2024',
        js: `'{"a": null, "nested": [[], {}], "n": -0.5, "s": "x"}'`, bl: `UNHEX('00')`, vbn: `UNHEX('FF')`, bn: `'ab'`,
        b1: `b'1'`, b12: `b'010101010101'`, b64: `b'${'0'.repeat(64)}'`, en: `'ok'`, st: `'a,b,c'`,
      },
    },
    { id: 4, values: {} },
    { id: 5, values: { tm: `'24:00:00.5'`, js: `'"a string"'`, db: '-0e0', vc: `'NULL'` } },
  ],
  updates: [
    { id: 10, before: {}, after: { bu: '18446744073709551615', tm: `'-12:00:00.000001'`, bl: `UNHEX('DEADBEEF')`, b12: `b'111100001111'`, js: `'{"x": 98765432109876543210}'`, st: `'b'`, ts: `'2001-02-03 04:05:06.000007'` } },
    { id: 11, before: { vc: `'before'`, vbn: `UNHEX('00FF')`, b64: `b'${'01'.repeat(32)}'` }, after: { vc: `'after ✓'`, vbn: `UNHEX('FF00')`, b64: `b'${'10'.repeat(32)}'`, tm: `'100:00:00'`, yr: '2000' } },
  ],
};
