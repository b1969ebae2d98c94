import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { csvRow } from '../../shared/csv.js';

/**
 * Sends an admin list's CSV export: the header row, then each chunk of rows as the client takes
 * it (never every row at once), with X-Total-Count up front so the console can show progress.
 */
export function sendCsv<R>(reply: FastifyReply, o: { filename: string; total: number; header: string[]; chunks: Iterable<R[]>; fields: (chunk: R[]) => unknown[][] }) {
  async function* csv() {
    yield csvRow(o.header);
    for (const chunk of o.chunks) yield o.fields(chunk).map((f) => csvRow(f)).join('');
  }
  return reply
    .type('text/csv; charset=utf-8')
    .header('x-total-count', String(o.total))
    .header('content-disposition', `attachment; filename="${o.filename}"`)
    .send(Readable.from(csv()) as never);
}
