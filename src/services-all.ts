/** Imports every module that registers a built-in service (side effects only). */
export {};
