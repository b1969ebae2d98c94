import { describe, expect, it } from 'vitest';
import { relinkToOrigin } from '../src/shared/relink.js';

describe('sandbox outbox: links rewritten to the register the console talks to', () => {
  it('rewrites only links whose origin is exactly the public origin', () => {
    const here = 'http://127.0.0.1:5001';
    const html = '<a href="http://localhost:5001/r/abc?x=1&amp;y=2">go</a> <a href="http://localhost:50010/r/def">other</a> http://localhost:5001 and https://localhost:5001/x http://localhost:5001?t=1#f';
    const out = relinkToOrigin(html, 'http://localhost:5001', here);
    expect(out).toBe(
      '<a href="http://127.0.0.1:5001/r/abc?x=1&amp;y=2">go</a> <a href="http://localhost:50010/r/def">other</a> http://127.0.0.1:5001 and https://localhost:5001/x http://127.0.0.1:5001?t=1#f',
    );
  });
  it('treats the default port as the same origin and leaves text without links alone', () => {
    expect(relinkToOrigin('see https://dar.example:443/p', 'https://dar.example', 'http://127.0.0.1:9')).toBe('see http://127.0.0.1:9/p');
    expect(relinkToOrigin('no links here', 'http://localhost:5001', 'http://x')).toBe('no links here');
  });
});
