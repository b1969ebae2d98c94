// node --import ./register.mjs …: installs the 'electron' stub for the built main process.
import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url).href);
