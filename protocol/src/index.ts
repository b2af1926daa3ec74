// The wire contract v1 between clients and gateways: schemas, types and constants.
export * from './accounts.ts';
export * from './codes.ts';
export * from './files.ts';
export * from './frames.ts';
export * from './parse.ts';
