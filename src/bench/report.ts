/** What every bench shares: JSON lines on stdout, rounding, and how a bench's main runs and exits. */
export function emit(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** A rounding function to `defaultDigits` decimals (or to the digits given per call). */
export function rounder(defaultDigits: number): (n: number, d?: number) => number {
  return (n, d = defaultDigits) => Math.round(n * 10 ** d) / 10 ** d;
}

/** Runs a bench's main and exits: 0 when it finished, 1 with the stack on stderr when it failed. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
