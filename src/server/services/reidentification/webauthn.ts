/**
 * @simplewebauthn/server and its crypto libraries load on the first passkey ceremony, not at
 * every start: they were a seventh of the register's start-up (docs/performance.md).
 */
let webauthnModule: Promise<typeof import('@simplewebauthn/server')> | null = null;
export const webauthn = () => (webauthnModule ??= import('@simplewebauthn/server'));
