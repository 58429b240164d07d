import { isDataError, isUniqueViolation } from '../../../src/db';

describe('database error predicates', () => {
  test('when SQLite or PostgreSQL refuses a duplicate key, then it is a unique violation and a data error', () => {
    const sqlite = Object.assign(new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed: datasets.name'), {
      code: 'SQLITE_CONSTRAINT',
    });
    const pg = Object.assign(new Error('duplicate key value violates unique constraint "datasets_name_key"'), {
      code: '23505',
    });
    for (const err of [sqlite, pg]) {
      expect(isUniqueViolation(err)).toBe(true);
      expect(isDataError(err)).toBe(true);
    }
  });

  test('when PostgreSQL refuses a value (out of range, a check), then it is a data error but not a unique violation', () => {
    for (const code of ['22003', '22P02', '23514', '23502']) {
      const err = Object.assign(new Error('refused'), { code });
      expect(isDataError(err)).toBe(true);
      expect(isUniqueViolation(err)).toBe(false);
    }
  });

  test("when the database's state is the trouble (busy, gone, deadlock), then it is not a data error", () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_FULL', '40P01', '57P01', '08006', 'ECONNREFUSED']) {
      expect(isDataError(Object.assign(new Error('x'), { code }))).toBe(false);
    }
  });
});
