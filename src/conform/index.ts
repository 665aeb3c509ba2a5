/** Conformance tooling: packetdrill-dialect scripts, capture replay, capture lint. See README.md. */
export { runScript, parseOptionWords, ScriptFailure, type ScriptResult, type ScriptStatus, type RunScriptOptions } from './runner.js';
export { parseScript, stripComments } from './parse.js';
export { ScriptSyntaxError, type Script, type ScriptEvent } from './ast.js';
export { collectScripts, runFiles, summarize, formatResult, formatSummary, type SuiteSummary } from './suite.js';
export { replayCapture, replayBytes, formatReplay, type ReplayOptions, type ReplayResult, type Divergence } from './replay.js';
export { lintCapture, lintProblemsAtLeast, formatLint, type LintResult, type LintProblem, type LintSeverity } from './lint.js';
export { defaultRunnerConfig, applyOption, applyShellCommand, SYSCTLS, Unsupported, type RunnerConfig } from './config.js';
