/**
 * The line between the services and the storage engine (db/store.ts): services, routes, pages
 * and the seed talk to the database through awaited drizzle builders and the Store, never
 * through what exists on SQLite only. Used by test/store-boundary.test.ts.
 */

/** The folders (under src/server) whose files must run on either engine. */
export const CHECKED_FOLDERS = ['services', 'routes', 'pages', 'seed'];

/**
 * Files (relative to src/server) that are SQLite-specific by design: snapshots (file copies),
 * the trigram search index and the admin search over it.
 */
export const SQLITE_SPECIFIC = ['services/snapshots.ts', 'services/search-index.ts', 'services/access-records/queries.ts'];

/** Drizzle query-builder steps: a `.get()`, `.all()`, `.run()` or `.values()` after one of these runs a SQLite builder synchronously. */
const BUILDER_STEP = /\.\s*(select|selectDistinct|from|insert|update|delete|where|set|values|returning|orderBy|groupBy|having|limit|offset|innerJoin|leftJoin|rightJoin|fullJoin|onConflictDoUpdate|onConflictDoNothing|\$dynamic)\s*\(/;

const RULES: { pattern: RegExp; why: string; inChainOnly?: boolean }[] = [
  { pattern: /\b(sqlite|\$client)\s*\.\s*(prepare|exec|pragma|transaction)\s*(<[^()]*>)?\s*\(/g, why: 'raw better-sqlite3' },
  // A statement prepared from SQL text is better-sqlite3's (store.prepare takes a name, then a builder).
  { pattern: /\.\s*prepare\s*(<[^()]*>)?\s*\(\s*['"`]\s*(select|insert|update|delete|with|replace|pragma|create|drop)\b/gi, why: 'raw better-sqlite3' },
  { pattern: /\.\s*(get|all|run)\s*\(\s*\{/g, why: 'a prepared drizzle statement run synchronously (use store.prepare and `await q.execute({...})`)' },
  { pattern: /\.\s*prepare\s*\(\s*\)/g, why: "a drizzle builder's own .prepare() (use store.prepare)" },
  { pattern: /\bdb\s*\.\s*(all|get|run|values)\s*\(/g, why: 'raw SQL through SQLite drizzle (use store.rows / store.execute)' },
  { pattern: /\.\s*(get|all|run|values)\s*\(\s*\)/g, why: 'a drizzle builder run synchronously (await the builder instead)', inChainOnly: true },
];

/** Comments become spaces (line breaks kept, so line numbers stay right); strings and code are kept. */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  let quote: string | null = null;
  while (i < src.length) {
    const c = src[i];
    if (quote) {
      out += c;
      if (c === '\\') {
        out += src[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === quote) quote = null;
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      for (; i < src.length && src[i] !== '\n'; i++) out += ' ';
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (; i < stop; i++) out += src[i] === '\n' ? '\n' : ' ';
    } else {
      if (c === "'" || c === '"' || c === '`') quote = c;
      out += c;
      i++;
    }
  }
  return out;
}

/** The member-call chain that ends just before `end` (e.g. `this.reg.db.select().from(t).where(x)`). */
function chainBefore(src: string, end: number): string {
  let i = end;
  for (;;) {
    while (i > 0 && /\s/.test(src[i - 1])) i--;
    const c = src[i - 1];
    if (c === ')' || c === ']') {
      const open = c === ')' ? '(' : '[';
      let depth = 0;
      let j = i - 1;
      for (; j >= 0; j--) {
        if (src[j] === c) depth++;
        else if (src[j] === open && --depth === 0) break;
      }
      if (j < 0) break;
      i = j;
    } else if (c !== undefined && /[\w$.?!]/.test(c)) {
      i--;
    } else break;
  }
  return src.slice(i, end);
}

export interface Violation {
  line: number;
  text: string;
  why: string;
}

/** Where one file's source reaches past the Store to SQLite itself (one finding per line). */
export function storeBoundaryViolations(source: string): Violation[] {
  const src = stripComments(source);
  const lines = source.split('\n');
  const found: Violation[] = [];
  for (const rule of RULES) {
    for (const m of src.matchAll(rule.pattern)) {
      if (rule.inChainOnly && !BUILDER_STEP.test(chainBefore(src, m.index))) continue;
      const line = src.slice(0, m.index).split('\n').length;
      if (!found.some((f) => f.line === line)) found.push({ line, text: lines[line - 1].trim(), why: rule.why });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}
