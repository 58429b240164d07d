import { ValidationError } from '../platform';

/** The longest tag a dataset can carry (as create and update accept them). */
export const MAX_TAG_LENGTH = 64;

/**
 * `?tag=` of a list: one tag, as a dataset can carry it. Absent or empty means no filter; a tag
 * given twice, too long or with control characters is refused (400 naming `tag`) rather than
 * matching nothing in silence.
 */
export function parseTagFilter(query: Record<string, unknown>): string | undefined {
  const v = query.tag;
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new ValidationError('tag', 'must be given once, as a plain value');
  const tag = v.trim();
  if (tag === '') throw new ValidationError('tag', 'must not be blank');
  if (tag.length > MAX_TAG_LENGTH) throw new ValidationError('tag', `must be at most ${MAX_TAG_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
  if (/[\u0000-\u001f\u007f]/.test(tag)) throw new ValidationError('tag', 'must not contain control characters');
  return tag;
}

/**
 * A LIKE pattern (escape '\') that finds the tag as a whole element of the stored JSON array:
 * the element's JSON form, quotes included, so "prod" never matches "production". Portable SQL
 * (no JSON functions: SQLite and PostgreSQL spell those differently).
 */
export function tagLikePattern(tag: string): string {
  return `%${JSON.stringify(tag).replace(/[\\%_]/g, (m) => '\\' + m)}%`;
}
