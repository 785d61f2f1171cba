/**
 * Matmul work sharing. Each thread's memory holds its row shard of every weight, and a matmul used
 * to run exactly those shards: an op lasted as long as its slowest thread. On a VM whose vCPUs run
 * at different speeds from one moment to the next (a busy sibling hyperthread on the host: the same
 * kernel measured 23 and 42 GMAC/s on the two vCPUs at once), or on a CPU with performance and
 * efficiency cores, the faster thread then sat idle for up to half the op. Now each share is cut
 * into chunks (a range of row groups of one weight, and a range of tokens), every thread holds a
 * kernel instance over every memory, and a thread that has run out of its own chunks takes the next
 * unclaimed ones of another share. A row's arithmetic does not depend on which rows or tokens share
 * its kernel call, so results are bit-identical however the chunks fall. Row-wise ops of many-token
 * steps (Op.Rows: rmsnorm, rope, siluMul, add, activation quantization) use the same claims, with
 * every chunk in share 0 (the main memory, where their tensors live).
 */
import { NEXT, STOLEN } from './protocol.js';

/** Most chunks one share may have: the chunk index sits in the low 12 bits of the NEXT word. */
export const MAX_CHUNKS = 4095;
const INDEX = 0xfff;

/**
 * The NEXT word of op `seq` at chunk 0: the low 20 bits of the sequence number above the index, so
 * a thread still working from an older op's view cannot claim a chunk of the current one.
 */
export function chunkTag(seq: number): number {
  return (seq << 12) | 0;
}

/** The NEXT word of an op whose chunks are all gone: written when the op ends, before the next op's parameters. */
export function exhausted(seq: number): number {
  return chunkTag(seq) | INDEX;
}

/** Claims the next chunk of a share for op `tag` (chunkTag): its index, or −1 if none is left or the op is over. */
export function claimChunk(ctrl: Int32Array, slot: number, tag: number, count: number): number {
  for (;;) {
    const w = Atomics.load(ctrl, slot);
    if ((w & ~INDEX) !== tag) return -1;
    const i = w & INDEX;
    if (i >= count) return -1;
    if (Atomics.compareExchange(ctrl, slot, w, w + 1) === w) return i;
  }
}

/** What a thread can do with one share's chunks (thread-ops.ts). */
export interface ChunkRunner {
  /** The control word index of this share's slot `slot`. */
  slot(slot: number): number;
  /** Chunks in this share for the op now in the parameters. */
  chunkCount(): number;
  /** Runs chunk i of op seq (claimed by the caller). */
  runChunk(i: number, seq: number): void;
}

/**
 * Runs chunks of op `seq`, taking shares in `order` (this thread's own first) and each share's
 * chunks until none is left; returns how many ran, and counts those of other shares in STOLEN. A
 * chunk that throws still counts (the op must finish for every thread); errors go to `fail`.
 */
export function runChunks(ctrl: Int32Array, shares: readonly (ChunkRunner | undefined)[], order: readonly number[], seq: number, fail: (e: unknown) => void): number {
  const tag = chunkTag(seq);
  let ran = 0;
  let stolen = 0;
  for (const v of order) {
    const share = shares[v];
    if (!share) continue;
    const slot = share.slot(NEXT);
    const count = share.chunkCount();
    for (;;) {
      const i = claimChunk(ctrl, slot, tag, count);
      if (i < 0) break;
      try {
        share.runChunk(i, seq);
      } catch (e) {
        fail(e);
      }
      ran++;
      if (v !== order[0]) stolen++;
    }
  }
  if (stolen > 0) Atomics.add(ctrl, STOLEN, stolen);
  return ran;
}

/** Shares in the order thread u takes them: its own, then the next ones round the ring. */
export function stealOrder(u: number, threads: number): number[] {
  return Array.from({ length: threads }, (_, i) => (u + i) % threads);
}

/** How a share of a matmul over n tokens is cut. */
export interface ChunkPlan {
  /** Row groups per chunk (a chunk never spans two weights). */
  readonly groups: number;
  /** Tokens per chunk (a multiple of 4 unless it is all n). */
  readonly tokens: number;
}

/** Chunks per share a plan aims at: enough that the last one is a small part of the op. */
const CHUNKS_PER_SHARE = 8;
/** Fewest weight bytes per chunk of a few-token step (smaller chunks cost more in claims and calls than they balance). */
const MIN_CHUNK_BYTES = 128 * 1024;
/** A chunk's row groups when it takes all of its weight's. */
const ALL_GROUPS = 2 ** 30;
/** From this many tokens a share is cut by tokens (all its rows per chunk). */
const TOKEN_CHUNKS_FROM = 64;

/**
 * Few tokens (decode, batched decode, verification): chunks of rows, each copied back as n short
 * rows. Many (prefill): chunks of tokens over all the share's rows: the kernels stream a share's
 * weights once per block of tokens anyway, and each output row goes back in one copy.
 */
export function planChunks(shareGroups: number, groupBytes: number, n: number): ChunkPlan {
  if (n >= TOKEN_CHUNKS_FROM) {
    const tokens = Math.max(32, Math.ceil(n / CHUNKS_PER_SHARE / 4) * 4);
    return { groups: ALL_GROUPS, tokens };
  }
  const minGroups = Math.ceil(MIN_CHUNK_BYTES / groupBytes);
  return { groups: Math.max(1, minGroups, Math.ceil(shareGroups / CHUNKS_PER_SHARE)), tokens: n };
}

/** Chunks of one weight's shard of `groups` row groups under a plan (shareGroups: all the share's weights together). */
export function chunksOf(groups: number, n: number, plan: ChunkPlan): number {
  return groups === 0 ? 0 : Math.ceil(groups / plan.groups) * Math.ceil(n / plan.tokens);
}
