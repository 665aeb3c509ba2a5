/** Imports every module that registers a built-in service (side effects only). */
import './services/udp-echo.js';
import './services/dns.js';

export {};
