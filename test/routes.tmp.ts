import { testRegister } from './support/register.js';
const r = await testRegister({}, { seed: false });
const doc: any = (await r.app.inject({ url: '/v1/openapi.json' })).json();
for (const [p, ops] of Object.entries<any>(doc.paths)) for (const [m, op] of Object.entries<any>(ops)) console.log(m.toUpperCase(), p, (op.security ?? []).map((s: any) => Object.keys(s)[0]).join(','), Object.keys(op.responses).join(' '), op.requestBody ? 'body' : '', (op.parameters ?? []).map((x: any) => x.in[0] + ':' + x.name).join(','));
await r.close();
