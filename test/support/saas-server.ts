/** The tests' SaaS API is the demo's REST server (src/demo/rest-server.ts): one implementation for both. */
export { SaasServer, type SaasAuth, type SaasServerOptions, type Resource, type RequestRecord } from '../../src/demo/rest-server';
