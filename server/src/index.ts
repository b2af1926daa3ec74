// @chrome-plus/server: what other packages may use of the server (the bench runs the real system in its own
// processes; the browser tests need the extension's allowed origin). Everything else is internal.
export { type App, type AppOptions, type Role, SERVER_NAME, startApp } from './app.ts';
export { type Config, ConfigError, loadConfig } from './config.ts';
export { chromePlusExtensionId, chromePlusExtensionOrigin, defaultAllowedOrigins } from './gateway/origin.ts';
export { createLogger, type Logger } from './logger.ts';
export * from './providers/index.ts';
