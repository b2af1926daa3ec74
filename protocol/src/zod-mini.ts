// zod/mini for the browser (the `browser` condition of `#zod`): the same schemas at a fraction of zod's size.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini loads no locale: register English so that errors read exactly as zod's own on the server.
config(en());
// An extension page's CSP forbids eval: without this, zod probes `new Function` and Chrome logs a CSP violation.
config({ jitless: true });

export * from 'zod/mini';
