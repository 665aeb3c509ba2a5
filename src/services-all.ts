/** Imports every module that registers a built-in service (side effects only). */
import './services/udp-echo.js';
import './services/dns-service.js';
import './services/tcp-services.js';
import './services/http.js';
import './services/https.js';

export {};
