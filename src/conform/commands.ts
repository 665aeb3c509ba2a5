/**
 * CLI commands of the conformance tooling:
 *
 *   tunstack conform FILE.pkt… | DIR  [--tolerance_usecs=N --strict_time ...]
 *   tunstack conform --oracle linux --packetdrill PATH FILE.pkt… | DIR   (as root)
 *   tunstack replay CAPTURE.pcap [--server ADDR:PORT]
 *   tunstack lint CAPTURE.pcap
 *
 * Exit status: 0 when everything passed / matched / is clean, 1 when
 * anything failed or was unsupported, 2 for usage errors.
 */
import type { Command, CommanderError } from 'commander';
import { collectScripts, formatResult, formatSummary, runFiles } from './suite.js';
import { parseOptionWords } from './runner.js';
import { applyOption, defaultRunnerConfig } from './config.js';
import { formatReplay, replayCapture, type ReplayOptions } from './replay.js';
import { formatLint, lintCapture } from './lint.js';
import { formatOracleSummary, formatOracleTable, OracleUnavailable, oracleAgrees, oracleTotals, preparePacketdrill, runOracle } from './oracle.js';

/** Writes everything, then exits (a bare process.exit may cut a long output written to a pipe). */
function finish(text: string, code: number): void {
  process.stdout.write(text, () => process.exit(code));
}

function usage(msg: string): never {
  process.stderr.write(`tunstack: ${msg}\n`);
  process.exit(2);
}

/** Commander's own errors (missing argument, unknown option) are usage errors: exit 2; help exits 0. */
function usageExit(e: CommanderError): never {
  process.exit(e.exitCode === 0 ? 0 : 2);
}

/** `conform --oracle linux`: progress lines on stderr, then the table and its summary on stdout. */
async function runWithOracle(oracle: string | undefined, packetdrillPath: string | undefined, files: readonly string[], optionWords: readonly string[], quiet: boolean): Promise<void> {
  let packetdrill: string;
  try {
    packetdrill = preparePacketdrill(oracle, packetdrillPath);
  } catch (e) {
    if (e instanceof OracleUnavailable) {
      process.stderr.write(`tunstack: conform: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const rows = await runOracle(packetdrill, files, optionWords, {
    base: process.cwd(),
    onRow: (r) => {
      if (!quiet) process.stderr.write(`${r.script}: linux ${r.linux.verdict}, tunstack ${r.tunstack.status}\n`);
    },
  });
  finish([...formatOracleTable(rows), '', formatOracleSummary(oracleTotals(rows))].join('\n') + '\n', oracleAgrees(rows) ? 0 : 1);
}

export function addConformCommands(program: Command): void {
  program
    .command('conform')
    .description('run packetdrill-dialect scripts (.pkt files or directories of them) against a fresh stack on a virtual clock')
    .argument('<paths...>', 'scripts or directories (walked for *.pkt)')
    .option('-v, --verbose', 'print every event of every script')
    .option('-q, --quiet', 'print only failures, unsupported scripts and the summary')
    .option('--oracle <kernel>', "also run every script with real packetdrill against this machine's kernel ('linux'; needs root) and print one table of both verdicts")
    .option('--packetdrill <path>', 'for --oracle: a packetdrill binary, or a google/packetdrill checkout to build (bison, flex)')
    .helpOption('-h, --help', 'help; any other --name=value is a script option applied to every script (e.g. --tolerance_usecs=10000, --strict_time, --relax-option-order, --syncookies=2, --tcp.rmem=65536)')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .exitOverride(usageExit)
    .action(async (_paths: string[], o: { verbose?: boolean; quiet?: boolean; oracle?: string; packetdrill?: string }, cmd: Command) => {
      const words = cmd.args;
      const optionWords = words.filter((w) => w.startsWith('-') && w !== '-v' && w !== '-q' && w !== '--verbose' && w !== '--quiet');
      const paths = words.filter((w) => !w.startsWith('-'));
      if (paths.length === 0) usage('conform: give at least one .pkt file or directory');
      // Validate the shared options once, as a usage error.
      try {
        const c = defaultRunnerConfig();
        for (const opt of parseOptionWords(optionWords)) applyOption(c, opt);
      } catch (e) {
        usage(`conform: ${(e as Error).message}`);
      }
      const { files, missing } = collectScripts(paths);
      if (missing.length > 0) usage(`conform: no such file or directory: ${missing.join(', ')}`);
      if (files.length === 0) usage(`conform: no .pkt scripts under ${paths.join(', ')}`);
      if (o.oracle !== undefined || o.packetdrill !== undefined) {
        await runWithOracle(o.oracle, o.packetdrill, files, optionWords, o.quiet ?? false);
        return;
      }
      const summary = await runFiles(files, {
        options: optionWords,
        onResult: (r) => {
          if (o.quiet && r.status === 'pass') return;
          process.stdout.write(formatResult(r, o.verbose ?? false).join('\n') + '\n');
        },
      });
      finish(formatSummary(summary).join('\n') + '\n', summary.failed === 0 && summary.unsupported === 0 ? 0 : 1);
    });

  program
    .command('replay')
    .description("re-play the client's packets of a capture against a fresh stack and compare its answers with the reference server's")
    .argument('<capture>', 'a pcap file (raw IP, Ethernet or Linux cooked)')
    .option('--server <addr:port>', 'the reference server (default: inferred from the capture)')
    .option('--tcp <key=value>', 'a stack TCP setting, repeatable (e.g. --tcp syncookies=2 --tcp rmem=4096)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('-v, --verbose', 'print every packet compared, every note and every divergence')
    .exitOverride(usageExit)
    .action(async (file: string, o: { server?: string; verbose?: boolean; tcp: string[] }) => {
      const tcp: Record<string, number | boolean | string> = {};
      for (const kv of o.tcp) {
        const m = /^([A-Za-z]\w*)=(.*)$/.exec(kv);
        if (!m) usage(`replay: --tcp takes KEY=VALUE (got ${kv})`);
        const v = m[2]!;
        tcp[m[1]!] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) && v !== '' ? Number(v) : v;
      }
      let server: { address: string; port: number | undefined } | undefined;
      if (o.server !== undefined) {
        const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(o.server);
        if (!m) usage(`replay: --server takes ADDR:PORT (got ${o.server})`);
        server = { address: m[1]!, port: m[2] !== undefined ? Number(m[2]) : undefined };
      }
      const r = await replayCapture(file, { ...(server ? { server } : {}), ...(Object.keys(tcp).length ? { tcp: tcp as ReplayOptions['tcp'] } : {}) });
      if (r.fatal !== undefined && r.usage) usage(`replay: ${r.fatal}`);
      finish(formatReplay(r, o.verbose ?? false).join('\n') + '\n', r.ok ? 0 : 1);
    });

  program
    .command('lint')
    .description("tshark's expert analysis of a capture: checksum errors, malformed packets, TCP analysis flags")
    .argument('<capture>', 'a pcap file')
    .exitOverride(usageExit)
    .action((file: string) => {
      const r = lintCapture(file);
      if (r.error !== undefined) usage(`lint: ${r.error}`);
      finish(formatLint(r).join('\n') + '\n', r.problems.some((p) => p.severity === 'warning' || p.severity === 'error') ? 1 : 0);
    });
}
