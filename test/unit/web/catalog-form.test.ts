import { ValidationError } from '../../../src/platform';
import { parseCatalog } from '../../../src/tiering';
import { catalogFieldError, humanFieldName } from '../../../src/web/pages/catalog-form';

describe('the catalog form names a refused field as a person reads it', () => {
  test('when a placement price is named by its input, then it reads location · tier · label', () => {
    expect(humanFieldName('p|PRIVATE/HOT|storage_gb_month')).toBe('PRIVATE · HOT · Storage $/GB-month');
    expect(humanFieldName('e|ONPREM|PUBLIC')).toBe('Egress of a move · from ONPREM · to PUBLIC $/GB');
    expect(humanFieldName('r|PUBLIC')).toBe('Egress of reads served from PUBLIC $/GB');
  });

  test("when the catalog's parser refuses a field by its path, then the error names the form's input and the human name", () => {
    let err: unknown;
    try {
      parseCatalog({ placements: { 'PUBLIC/COLD': { min_storage_days: 1.5 } } });
    } catch (e) {
      err = e;
    }
    expect(catalogFieldError(err)).toEqual({
      name: 'p|PUBLIC/COLD|min_storage_days',
      message: 'PUBLIC · COLD · Minimum days: must be a whole number',
    });
  });

  test("when the form's own parser refuses an input, then its message loses the internal name", () => {
    const err = new ValidationError('e|PRIVATE|ONPREM', 'must be a number, got "x"');
    expect(catalogFieldError(err)).toEqual({
      name: 'e|PRIVATE|ONPREM',
      message: 'Egress of a move · from PRIVATE · to ONPREM $/GB: must be a number, got "x"',
    });
  });

  test('when the error is not about a field, then there is nothing to mark', () => {
    expect(catalogFieldError(new Error('disk full'))).toBeUndefined();
    expect(catalogFieldError(new ValidationError('catalog', 'no price was given'))).toEqual({
      name: '',
      message: 'no price was given',
    });
  });
});
