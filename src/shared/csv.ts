/**
 * The one way the register and the console write CSV (the portal's history download, the
 * console's audit export). Every field is quoted, so a value with a comma, quote or line
 * break can never shift columns. A value that a spreadsheet program would read as a formula
 * (it begins with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so an
 * organisation name or purpose chosen by a Data User cannot run as a formula on the reader's
 * machine (CSV injection; OWASP "CSV Injection").
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: objects become JSON, null and undefined an empty field. */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

/** One CSV row with its CRLF line end, for writers that stream a document row by row. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** A CSV document (RFC 4180: CRLF line ends, a final CRLF): the header row, then one row per entry. */
export function csvDocument(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map(csvRow).join('');
}
