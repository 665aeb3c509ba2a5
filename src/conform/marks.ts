/**
 * Marks a script carries for the Linux oracle: `// linux-differs: WHY` says that Linux
 * fails the script on purpose (we differ from Linux there, and the reason is WHY).
 */

const LINUX_DIFFERS = /^\s*\/\/\s*linux-differs:\s*(.*\S)\s*$/m;

/** The reason of a script's `// linux-differs: WHY` line, or undefined when it has none. */
export function linuxDiffersReason(text: string): string | undefined {
  const m = LINUX_DIFFERS.exec(text);
  return m ? m[1] : undefined;
}
