export { startRequest } from './request-id.middleware.js';
export { JSON_BODY_LIMIT_BYTES, configureApp } from './configure-app.js';
