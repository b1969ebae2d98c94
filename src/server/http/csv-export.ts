import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { csvRow } from '../../shared/csv.js';

/**
 * Sends a streamed CSV export (docs/api.md "Admin lists"): the header row, then each chunk of
 * rows as the client takes them (the chunks come from `sortedChunks`, one short query each),
 * with the row count up front in X-Total-Count so the console can show progress.
 */
export function sendCsvExport<R>(reply: FastifyReply, opts: { filename: string; total: number; header: readonly string[]; chunks: Iterable<R[]>; rows: (chunk: R[]) => (readonly unknown[])[] }) {
  async function* csv() {
    yield csvRow(opts.header);
    for (const chunk of opts.chunks) {
      yield opts.rows(chunk).map(csvRow).join('');
    }
  }
  return reply
    .type('text/csv; charset=utf-8')
    .header('x-total-count', String(opts.total))
    .header('content-disposition', `attachment; filename="${opts.filename}"`)
    .send(Readable.from(csv()) as never);
}
