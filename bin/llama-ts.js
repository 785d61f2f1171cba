#!/usr/bin/env node
// V8 flags are per process and must be set before any WebAssembly compiles: relaxed SIMD gives the
// int8 dot products that reach memory bandwidth (the wasm backend feature-detects and falls back).
import v8 from 'node:v8';
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
