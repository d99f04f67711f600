// The public API of etrn: the run entry point, its options and result
// types, the errors, and the pure protocol pieces for embedding.
export { etrn, plan, runPlan, dryRunResult, defaults, MAX_SERVERS, MAX_NODES_PER_SERVER } from './run.js';
export type { EtrnOptions, EtrnTarget, Plan, SessionPlan, TraceEvent } from './run.js';
export type { EtrnResult, SessionResult, NodeResult, SessionError, TlsInfo, ReplyResult, RunError } from './result.js';
export { sessionExitCode, toJson, failedRun, SCHEMA_VERSION } from './result.js';
export { ExitCode, worstExitCode, exitCodeForKind, exitCodeForNodeReply, exitCodeForSignal, isAccepted } from './protocol/outcome.js';
export type { ErrorKind } from './protocol/outcome.js';
export { EtrnError, UsageError, InvalidNameError, ConfigError, RemoteProtocolError, LocalProtocolError, OutputError } from './errors.js';
export { TlsError } from './transport/tls.js';
export { DeadlineReached } from './transport/abort.js';
export type { EtrnErrorCode } from './errors.js';
export { ReplyParser, defaultReplyLimits, formatReply, replyText } from './protocol/reply.js';
export type { Reply, ReplyLimits } from './protocol/reply.js';
export { EtrnSession } from './protocol/session.js';
export type { SessionAction, SessionOptions, NodeOutcome, SessionFailure, SessionState, SessionPhase } from './protocol/session.js';
export { parseCapabilities } from './protocol/capabilities.js';
export type { Capabilities } from './protocol/capabilities.js';
export { normalizeNode, normalizeNodes, normalizeDomain } from './names/node.js';
export { parseServer } from './names/server.js';
export type { ServerAddress } from './names/server.js';
export { parseSendmailCf, parseClassFile } from './config/sendmail-cf.js';
export { discoverSendmailNodes, localFqdn } from './config/discovery.js';
export type { Connector, ConnectTarget } from './transport/connect.js';
export { tcpConnector, ConnectError } from './transport/connect.js';
export type { Resolver, ResolvedAddress } from './transport/resolve.js';
export { systemResolver, HostNotFoundError } from './transport/resolve.js';
