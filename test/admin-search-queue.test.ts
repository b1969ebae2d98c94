import { afterEach, describe, expect, it } from 'vitest';
import { SearchIndexer } from '../src/server/services/search-index.js';
import { createNamedRecord, testRegister, type TestRegister } from './support/register.js';

/**
 * The admin search's trigram index off the create path (docs/performance.md "Creates"): a write
 * only queues the record's seq, the search indexer moves queued records into the FTS5 index in
 * batches, and a search also scans the queue, so results are exact before and after it runs.
 */
let open: TestRegister[] = [];
afterEach(async () => {
  for (const r of open.reverse()) await r.close();
  open = [];
});

async function setup(): Promise<TestRegister> {
  const r = await testRegister();
  open.push(r);
  return r;
}

const queued = (r: TestRegister) => r.reg.sqlite!.prepare('select seq from access_records_search_queue order by seq').pluck().all() as number[];
/** What the trigram index alone finds (no queue). */
const inIndex = (r: TestRegister, term: string) => r.reg.sqlite!.prepare('select rowid from access_records_search where access_records_search match ?').pluck().all(`"${term}"`) as number[];
const seqOf = (r: TestRegister, ak: string) => r.reg.sqlite!.prepare('select seq from access_records where ak = ?').pluck().get(ak) as number;
/** FTS5's own check of the index against its content table (every record indexed with its current text). */
const integrity = (r: TestRegister) => r.reg.sqlite!.prepare("insert into access_records_search (access_records_search, rank) values ('integrity-check', 1)").run();
const search = async (r: TestRegister, q: string, extra = '') => {
  const res = await r.call('admin_ops', 'GET', `/v1/admin/records?q=${encodeURIComponent(q)}&limit=500${extra}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.records as { ak: string }[]).map((x) => x.ak).sort();
};
const create = createNamedRecord;

describe('admin search queue (docs/performance.md "Creates")', () => {
  it('a create only queues the record; search finds it before the indexer ran and after, exactly once', async () => {
    const r = await setup();
    await r.svc.searchIndexer.runOnce();
    const { ak } = await create(r, 'Quasar heat-pump telemetry', 'Zyxwv Grid plc');
    const seq = seqOf(r, ak);
    // Off the request path: the create touched only the queue, not the trigram index.
    expect(queued(r)).toEqual([seq]);
    expect(inIndex(r, 'quasar')).toEqual([]);
    for (const q of ['QUASAR', 'eat-pum', 'xwv gr']) expect(await search(r, q), q).toEqual([ak]);
    // LIKE's wildcards in a term are literal, as they are for the trigram index.
    expect(await search(r, 'Quas%')).toEqual([]);
    expect(await search(r, 'heat_pump')).toEqual([]);

    expect(await r.svc.searchIndexer.runOnce()).toBe(1);
    expect(queued(r)).toEqual([]);
    expect(inIndex(r, 'quasar')).toEqual([seq]);
    integrity(r);
    for (const q of ['QUASAR', 'eat-pum', 'xwv gr']) expect(await search(r, q), q).toEqual([ak]);
  });

  it('a replacement that changes the text is reflected at once and after indexing; the old text is no longer found', async () => {
    const r = await setup();
    const { ak, body } = await create(r, 'Original nebula purpose');
    await r.svc.searchIndexer.runOnce();
    expect(await search(r, 'nebula')).toEqual([ak]);

    body.processing.purpose = 'Replaced pulsar purpose';
    const put = await r.call('bright_energy', 'PUT', `/v1/access-records/${ak}`, body);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    // The indexed old text left the index with the update; the new text waits in the queue.
    expect(inIndex(r, 'nebula')).toEqual([]);
    expect(queued(r)).toEqual([seqOf(r, ak)]);
    expect(await search(r, 'nebula')).toEqual([]);
    expect(await search(r, 'pulsar')).toEqual([ak]);

    // Replaced again before the indexer ran: still queued once, only the newest text is found.
    body.processing.purpose = 'Replaced quokka purpose';
    expect((await r.call('bright_energy', 'PUT', `/v1/access-records/${ak}`, body)).status).toBe(200);
    expect(queued(r)).toEqual([seqOf(r, ak)]);
    expect(await search(r, 'pulsar')).toEqual([]);
    expect(await search(r, 'quokka')).toEqual([ak]);

    await r.svc.searchIndexer.runOnce();
    integrity(r);
    expect(await search(r, 'nebula')).toEqual([]);
    expect(await search(r, 'pulsar')).toEqual([]);
    expect(await search(r, 'quokka')).toEqual([ak]);
  });

  it('revocation is reflected in a search with a state filter; a DCC sighting that renames the organisation is searchable at once', async () => {
    const r = await setup();
    const { ak } = await create(r, 'Revocable magnetar purpose');
    expect(await search(r, 'magnetar', '&state=ACTIVE')).toEqual([ak]);
    expect((await r.call('bright_energy', 'DELETE', `/v1/access-records/${ak}`)).status).toBe(200);
    expect(await search(r, 'magnetar', '&state=ACTIVE')).toEqual([]);
    expect(await search(r, 'magnetar', '&state=REVOKED')).toEqual([ak]);
    await r.svc.searchIndexer.runOnce();
    expect(await search(r, 'magnetar', '&state=REVOKED')).toEqual([ak]);

    const sighting = {
      mpxn: '3141592653',
      'organisation-name': 'Blazar Analytics Ltd',
      'organisation-reference': 'SEC-OU-00991',
      'first-seen': '2026-05-01T10:00:00Z',
      'data-types-observed': ['HH-CONSUMPTION'],
      'source-reference': 'DCC-SR-991-01',
    };
    const first = await r.call('dcc_system', 'POST', '/v1/discovered-access', sighting);
    expect(first.status).toBe(201);
    await r.svc.searchIndexer.runOnce();
    expect(await search(r, 'blazar')).toEqual([first.body.ak]);
    const again = await r.call('dcc_system', 'POST', '/v1/discovered-access', { ...sighting, 'organisation-name': 'Quasarix Data Ltd', 'last-seen': '2026-06-01T10:00:00Z' });
    expect(again.status).toBe(200);
    expect(await search(r, 'blazar')).toEqual([]);
    expect(await search(r, 'quasarix')).toEqual([first.body.ak]);
    await r.svc.searchIndexer.runOnce();
    integrity(r);
    expect(await search(r, 'quasarix')).toEqual([first.body.ak]);
  });

  it('the indexer drains the queue in bounded batches, oldest first', async () => {
    const r = await setup();
    await r.svc.searchIndexer.runOnce();
    const aks: string[] = [];
    for (let i = 0; i < 7; i++) aks.push((await create(r, `Batch cepheid purpose ${i}`)).ak);
    const small = new SearchIndexer(r.reg.sqlite!, r.reg.tx, 60_000, 3);
    expect(await small.pending()).toBe(7);
    expect(await small.indexBatch()).toBe(3);
    expect(queued(r)).toEqual(aks.slice(3).map((ak) => seqOf(r, ak)));
    expect(inIndex(r, 'cepheid').sort((a, b) => a - b)).toEqual(aks.slice(0, 3).map((ak) => seqOf(r, ak)));
    // Half indexed, half queued: the search still finds every one, once.
    expect(await search(r, 'cepheid')).toEqual([...aks].sort());
    expect(await small.runOnce()).toBe(4);
    expect(await small.pending()).toBe(0);
    expect(await small.indexBatch()).toBe(0);
    integrity(r);
    expect(await search(r, 'cepheid')).toEqual([...aks].sort());
  });

  it('a snapshot restore and a reset rebuild the index and empty the queue', async () => {
    const r = await setup();
    const kept = await create(r, 'Snapshot kept purpose');
    const saved = await r.call('admin_ops', 'POST', '/v1/admin/sandbox/snapshots', { name: 'search' });
    expect(saved.status).toBe(201);
    const later = await create(r, 'Snapshot later purpose');
    expect(queued(r).length).toBeGreaterThan(0);
    expect((await r.call('admin_ops', 'POST', `/v1/admin/sandbox/snapshots/${saved.body.id}/restore`)).status).toBe(200);
    expect(queued(r)).toEqual([]);
    integrity(r);
    expect(await search(r, 'snapshot kept')).toEqual([kept.ak]);
    expect(await search(r, 'snapshot later')).toEqual([]);
    expect(later.ak).not.toBe(kept.ak);

    expect((await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'empty' })).status).toBe(200);
    expect(queued(r)).toEqual([]);
    integrity(r);
    expect(await search(r, 'snapshot')).toEqual([]);
    // The demo data is loaded after the rebuild, so its records wait in the queue like any write.
    expect((await r.call('admin_ops', 'POST', '/v1/admin/sandbox/reset', { seed: 'demo' })).status).toBe(200);
    expect(queued(r)).toEqual(r.reg.sqlite!.prepare('select seq from access_records order by seq').pluck().all());
    expect(await search(r, 'snapshot')).toEqual([]);
    await r.svc.searchIndexer.runOnce();
    integrity(r);
    const after = await create(r, 'After reset purpose');
    expect(await search(r, 'after reset')).toEqual([after.ak]);
  });
});
