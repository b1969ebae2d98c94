// autocannon ships no types and @types/autocannon is not a dependency; the harness uses a small part of it.
declare module 'autocannon';
