/**
 * Micro-measurement (not part of `npm run bench`): admin list latency on a data folder filled
 * by the bulk loader, in-process through the real app (inject: routing, validation, SQL,
 * serialisation). Run: `npx tsx bench/search-latency.ts <data-dir> <admin-id> <admin-secret>`.
 */
import { defaultConfig } from '../src/server/config.js';
import { createRegister } from '../src/server/start.js';

const [dataDir, adminId, adminSecret] = process.argv.slice(2);
const running = await createRegister(defaultConfig({ dataDir, port: 0, workers: false, consoleDir: null }), false);
const login = await running.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: `Basic ${Buffer.from(`${adminId}:${adminSecret}`).toString('base64')}` } });
const token = login.json()['bearer-token'] as string;
const sample = running.reg.sqlite!.prepare('select ak, mpxn from access_records where seq = 5000').get() as { ak: string; mpxn: string };
const duid = (running.reg.sqlite!.prepare("select duid from accounts where account_id = 'bench_du_7'").get() as { duid: string }).duid;
const urls = [
  '/v1/admin/records?limit=50',
  '/v1/admin/records?q=ump%20siz&limit=50',
  '/v1/admin/records?q=tariff&limit=50',
  '/v1/admin/records?q=Bench%20Energy%2017&limit=50',
  `/v1/admin/records?q=${sample.mpxn.slice(3, 10)}&limit=50`,
  `/v1/admin/records?q=${sample.ak.slice(6, 16)}&limit=50`,
  '/v1/admin/records?q=zzzz-nothing&limit=50',
  '/v1/admin/records?q=ab&limit=50',
  '/v1/admin/records?q=tariff&sort=expiry&order=desc&limit=50',
  '/v1/admin/records?sort=expiry&order=desc&limit=200&offset=1999',
  '/v1/admin/records?sort=organisation&limit=200&offset=50000',
  '/v1/admin/records?sort=mpxn&limit=50&offset=99000',
  `/v1/admin/records?duid=${duid}&sort=expiry&limit=50`,
  '/v1/admin/records?from=2025-01-01&to=2025-03-31&sort=expiry&limit=50',
  '/v1/admin/audit?event-type-prefix=access-record.rev&limit=50',
  '/v1/admin/audit?actor=du_1&limit=50',
  '/v1/admin/audit?from=2025-01-01&to=2025-01-31&limit=50',
  '/v1/admin/discovered-access?q=Partner&sort=organisation&limit=50',
];
for (const url of urls) {
  const times: number[] = [];
  let total = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const res = await running.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    times.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    total = res.json().total;
  }
  times.sort((a, b) => a - b);
  console.log(`${times[2].toFixed(1).padStart(7)} ms median  ${times[0].toFixed(1).padStart(7)} ms best  total ${String(total).padStart(7)}  ${url}`);
}
const t0 = performance.now();
const csv = await running.app.inject({ method: 'GET', url: '/v1/admin/records/export.csv', headers: { authorization: `Bearer ${token}` } });
console.log(`export.csv of ${csv.headers['x-total-count']} rows: ${(performance.now() - t0).toFixed(0)} ms, ${(csv.rawPayload.length / 1024 / 1024).toFixed(1)} MB`);
await running.close();
