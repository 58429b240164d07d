import v8 from 'node:v8';

/**
 * Imported first by main.ts, before anything else is loaded: the main thread's young generation
 * stays at V8's initial size (two 1 MiB semi-spaces) instead of growing to 2 × 16 MiB once
 * start-up and the first transfers have made it grow. Most of what this server allocates on the
 * main thread dies young (requests, query rows, socket buffers), and a small young generation is
 * collected more often but each time in less. Measured (BENCHMARKS.md, "Server memory"): idle
 * RSS −12 MiB and the S3 store's peak −13 to −25 MiB, for what that costs the ingest path there.
 * The growth factor, unlike the semi-space size, can still be set at run time; a process started
 * with `--max-semi-space-size` keeps that setting (it caps the size this stays below anyway).
 */
v8.setFlagsFromString('--semi-space-growth-factor=1');
