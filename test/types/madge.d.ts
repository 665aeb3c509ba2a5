// The part of madge's API (v8, which ships no types) that test/unit/architecture.test.ts uses.
declare module 'madge' {
  export interface MadgeConfig {
    fileExtensions?: string[];
    tsConfig?: string;
  }
  export interface MadgeResult {
    /** Every module (path relative to the base directory) → the modules it imports. */
    obj(): Record<string, string[]>;
    /** Each import cycle as the list of modules on it. */
    circular(): string[][];
    /** Imports madge could not resolve. */
    warnings(): { skipped: string[] };
  }
  function madge(path: string, config?: MadgeConfig): Promise<MadgeResult>;
  export default madge;
}
