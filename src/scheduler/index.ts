// The scheduler subsystem: IPVS-exact schedulers, persistence and the DR connection model (the reference the native
// data plane is differentially tested against), plus `where` for directorctl. Pure: time is always an argument.
export { ipToU32, u32ToIp, maskPrefixLength, destKey } from './addr';
export { hash32, hsiphashBytes, hsiphashU32, MH_HASH1, MH_HASH2, type HsipKey } from './hash';
export {
  TCP_STATES, TCP_EVENTS, UDP_STATE, DR_INPUT_ONLY_TABLE, DEFAULT_TIMEOUTS_S, TEMPLATE_RETRY_MS,
  ACTIVE_STATES_CURRENT, ACTIVE_STATES_LEGACY, TCP_FLAG_BITS, nextTcpState, tcpEvent, tcpFlagByte, tcpFlagsOf, timeoutTableMs,
  type TcpState, type ConnState, type TcpEvent, type TcpFlags, type TimeoutOverrides,
} from './tcp-states';
export { type SchedDest, newSchedDest, overhead } from './dest';
export {
  createScheduler, wlcPick, lcPick, foPick, RoundRobin, WeightedRoundRobin, SourceHash, MaglevHash, gcd, wrrDestChanged, wrrCallSequence,
  SH_TAB_SIZE, MH_TAB_SIZE, MH_TAB_BITS, type Scheduler, type SchedulerFlags,
} from './algorithms';
export type { ModelServiceSpec, ModelDestSpec } from './services';
export {
  ConnTableModel, type PacketSummary, type Decision, type DecisionReason, type Verdict, type ModelOptions,
} from './conn-table';
export { where, whereAll, servicesFromConfig, WHERE_DEFAULT_CLIENT_PORT, type WhereAnswer, type WhereTarget } from './where';
export { liveDecision, parseWhereClient, whereNow, type WhereClient, type WhereVirtual } from './where-live';
