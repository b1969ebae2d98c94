// The webhook verification example in docs/webhooks.md ("Verifying a delivery"), kept here word for
// word so test/fidelity.test.ts runs it against real deliveries. Edit both together.
// (Only the port line differs: the test passes PORT=0 and reads the port printed below.)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.DAR_SIGNING_SECRET; // "whsec_…", exactly as the register returned it

// X-DAR-Signature: "sha256=" + hex HMAC-SHA256 of the raw body, keyed with the
// signing-secret string itself (its UTF-8 bytes; do not base64-decode it).
function verified(headers, raw) {
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(raw).digest('hex'));
  // For 15 minutes after a secret rotation, X-DAR-Signature stays under the previous secret
  // and X-DAR-Signature-New carries the new one's: accepting either lets you switch any time.
  return [headers['x-dar-signature'], headers['x-dar-signature-new']].some(
    (sig) => typeof sig === 'string' && sig.length === expected.length && timingSafeEqual(Buffer.from(sig), expected),
  );
}

const handled = new Set(); // keep this in your database: deliveries are at-least-once
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8'); // verify the bytes as received
    if (!verified(req.headers, raw)) return res.writeHead(401).end();
    const event = JSON.parse(raw);
    if (!handled.has(event['event-id'])) {
      handled.add(event['event-id']);
      console.log(event['event-type'], JSON.stringify(event.payload));
    }
    res.writeHead(204).end(); // answer 2xx quickly; do slow work afterwards
  });
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
