// Types for `leakwatch/register`: the agent started by
// `node -r leakwatch/register` / `node --import leakwatch/register`.

import type { Monitor, HeapTrend } from '../index'

declare namespace agent {

  /** A findLeaks suspect, as findLeaks returns it. */
  export interface ReportedSuspect {
    kind: string
    explanation: string
    confidence: string
    [field: string]: unknown
  }

  export interface AgentConfig {
    enabled: boolean
    /** LEAKWATCH_DIR; null: no snapshots are taken. */
    dir: string | null
    /** LEAKWATCH_SIGNAL; null: none. */
    signal: string | null
    intervalMs: number
    minGapMs: number
    keepSnapshots: boolean
    /** LEAKWATCH_REDACT (default true): reports show data from the heap (strings, keys, event names) as placeholders. */
    redact: boolean
    maxDiskBytes: number
    maxReports: number
    headroomFactor: number | undefined
    growthPctPerHour: number
    windowMs: number
    warmupMs: number
    minDurationMs: number
    minSamples: number
    trackers: ('listeners' | 'timers')[]
    metricsPort: number | null
    otel: boolean
    promClient: 'off' | 'on' | 'all'
  }

  export interface AgentSnapshot {
    path: string
    bytes: number
    heapUsed: number
    writeMs: number
    fast: boolean
    /** Longest time the event loop could not run a timer while this snapshot was taken. */
    eventLoopPauseMs: number
  }

  /** The JSON written as `leakwatch-report-<time>-<pid>[-<threadId>]-<mark>.json`. */
  export interface AgentReport {
    tool: 'leakwatch'
    version: string
    formatVersion: 1
    status: 'found' | 'clean' | 'skipped' | 'failed'
    reason?: string
    trigger: string
    pid: number
    threadId: number
    hostname: string
    node: string
    startedAt: string
    finishedAt: string
    durationMs: number
    intervalMs: number
    /** Whether suspects, the diff and the trackers' event names were redacted. */
    redacted: boolean
    trend: HeapTrend | null
    snapshots?: AgentSnapshot[]
    analysisMs?: number
    analysisPhases?: { loadMs: number; findLeaksMs: number; diffMs: number }
    headroom?: { heapUsed: number; needBytes?: number; availableBytes?: number }
    disk?: { reason: string; needBytes: number; usedBytes?: number; freeBytes?: number; maxDiskBytes?: number }
    memory?: { needBytes: number; availableBytes: number }
    snapshotsKept: boolean
    /** As findLeaks returns them. */
    suspects: ReportedSuspect[]
    runtime: { listeners?: unknown; timers?: unknown; error?: string }
  }

  export interface AgentResult {
    status: AgentReport['status'] | 'refused'
    reason?: string
    path?: string | null
    htmlPath?: string | null
    report?: AgentReport
  }

  export interface Agent {
    readonly config: AgentConfig
    readonly monitor: Monitor
    readonly investigating: boolean
    /** Three snapshots, findLeaks, a report; subject to one at a time and LEAKWATCH_MIN_GAP_MS. Never rejects. */
    investigate(options?: { trigger?: string }): Promise<AgentResult>
    stop(): void
    /** An EventEmitter: `on`, `once`, `off` and the rest behave as in `node:events`. */
    on(event: 'report', listener: (result: AgentResult & { report: AgentReport }) => void): this
    on(event: 'investigation', listener: (info: { trigger: string; trend: HeapTrend | null; dir: string }) => void): this
    once(event: 'report', listener: (result: AgentResult & { report: AgentReport }) => void): this
    once(event: 'investigation', listener: (info: { trigger: string; trend: HeapTrend | null; dir: string }) => void): this
    off(event: string, listener: (...args: any[]) => void): this
  }
}

/** The agent of this thread; null when LEAKWATCH_AGENT=off or it could not start. */
declare const agent: agent.Agent | null
export = agent
