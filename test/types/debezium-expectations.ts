/**
 * What Debezium cannot carry exactly even with the recommended settings, as
 * the matrix asserts it: the documented conversion (README, "Types and exact
 * values"), never a pretended exact match. Each entry says why.
 */
import type { Matrix, MatrixColumn, MatrixRow } from './columns';

type ColumnChange = Partial<Omit<MatrixColumn, 'name'>>;

function adjust(matrix: Matrix, columns: Record<string, ColumnChange>, rows: Record<number, Partial<MatrixRow>>): Matrix {
  return {
    ...matrix,
    columns: matrix.columns.map((c) => ({ ...c, ...(columns[c.name] ?? {}) })),
    rows: matrix.rows.map((r) => ({ ...r, ...(rows[r.id] ?? {}) })),
  };
}

/** A timetz as Debezium's ZonedTime gives it: the time in UTC, 'HH:MM:SS[.ffffff]Z'. */
const utcTimeText = (c: string) =>
  `rtrim(rtrim(to_char((${c} AT TIME ZONE 'UTC')::time, 'HH24:MI:SS.US'), '0'), '.') || 'Z'`;

export function PG_DEBEZIUM_EXPECTATIONS(matrix: Matrix): Matrix {
  return adjust(matrix, {
    // ZonedTime is normalised to UTC by the connector: the offset is lost (the time of day in UTC is kept).
    tz: { pgText: (c) => `(${c} AT TIME ZONE 'UTC')::text`, cross: { src: utcTimeText } },
    // Bits carries a number and the declared length: leading zeros of a varbit cannot be told from padding.
    vb: { pgText: (c) => `lpad(${c}::text, 20, '0')`, cross: { src: (c) => `lpad(${c}::text, 20, '0')` } },
  }, {
    // VariableScaleDecimal has no NaN: the connector sends null.
    26: { expect: { pg: { num: null } }, crossKind: { num: null } },
    // The snapshot (JDBC) sends a BC date as the AD date of the same number: 0044-03-15 BC arrives as 0044-03-15,
    // which MariaDB can then hold. Streamed BC dates are exact.
    28: { snapshot: { crossKind: { d: '0044-03-15' }, expect: { pg: { d: '0044-03-15' } } } },
    // 24:00:00 is a MicroTime/ZonedTime of one day, which the connector wraps to 00:00:00.
    30: { expect: { pg: { tz: '00:00:00+00' }, my: { tz: '00:00:00Z' } } },
  });
}

export function MY_DEBEZIUM_EXPECTATIONS(matrix: Matrix): Matrix {
  return matrix;
}
