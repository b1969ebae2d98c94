import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { csvRow } from '../../shared/csv.js';

/**
 * Sends a streamed CSV export (docs/api.md "Admin lists"): the header row, then each chunk of
 * rows as the client takes them (the chunks come from `sortedChunks`, one short query each,
 * read only when the client is ready for more), with the row count up front in X-Total-Count
 * so the console can show progress. `rows` may read more (e.g. names) for its chunk.
 */
export function sendCsvExport<R>(
  reply: FastifyReply,
  opts: { filename: string; total: number; header: readonly string[]; chunks: Iterable<R[]> | AsyncIterable<R[]>; rows: (chunk: R[]) => Promise<(readonly unknown[])[]> | (readonly unknown[])[] },
) {
  async function* csv() {
    yield csvRow(opts.header);
    for await (const chunk of opts.chunks) {
      yield (await opts.rows(chunk)).map(csvRow).join('');
    }
  }
  return reply
    .type('text/csv; charset=utf-8')
    .header('x-total-count', String(opts.total))
    .header('content-disposition', `attachment; filename="${opts.filename}"`)
    .send(Readable.from(csv()) as never);
}

/**
 * The OpenAPI part of a list's `export.csv` route: `what` names a row ("record", "audit event"),
 * `order` how rows come ("in the list order", "newest first"), `ours` marks our own route in
 * the summary; the query is the list's own.
 */
export function csvExportSchema<Q extends TSchema>(what: string, querystring: Q, opts: { order?: string; ours?: boolean; description?: string } = {}) {
  return {
    summary: `${opts.ours ? '[ours] ' : ''}Every ${what} matching the list filters, ${opts.order ?? 'in the list order'}, as CSV streamed a chunk at a time (X-Total-Count gives the row count up front)`,
    ...(opts.description ? { description: opts.description } : {}),
    querystring,
    produces: ['text/csv'],
    response: { 200: Type.String({ description: 'text/csv; charset=utf-8 (RFC 4180, formula-safe fields)' }) },
  };
}
